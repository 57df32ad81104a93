"""The name rule, output roots, special files, numeric environment variables and file locks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srprint.errors import ImageError, InputError, OutputError, SpecError, one_line
from srprint.io.env import EnvError, check_environment, env_number
from srprint.io.images import read_image
from srprint.io.locks import LockedError, exclusive_lock
from srprint.io.names import check_name, is_valid_name
from srprint.io.outputs import check_input_file, check_inside, check_output_file, check_side_files


@pytest.mark.parametrize("name", ["EDSR-skimage-x2-L1-s1", "a", "RealESRGAN_x4plus-pretrained", "X+prune30",
                                  "noise0.01", "SwinIR-bsds-x4-VGG+Adv-s1"])
def test_names_in_use_are_valid(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["../x", "/home/user/photos", "a/b", ".hidden", "..", "", "a\\b", "x" * 201,
                                  "a b", "-x", 12, None, "ok\n"])
def test_names_that_could_steer_a_write_are_refused(name: object) -> None:
    assert not is_valid_name(name)
    with pytest.raises(SpecError, match="invalid model id"):
        check_name(name, where="model.json")


def test_check_inside(tmp_path: Path) -> None:
    assert check_inside(tmp_path, tmp_path / "a" / "b.png") == tmp_path / "a" / "b.png"
    for bad in (tmp_path / ".." / "x", tmp_path / "a" / ".." / ".." / "x", Path("/etc/passwd")):
        with pytest.raises(OutputError, match="outside the output folder"):
            check_inside(tmp_path, bad)
    (tmp_path / "link").symlink_to(tmp_path.parent)
    with pytest.raises(OutputError):
        check_inside(tmp_path, tmp_path / "link" / "x")


def test_only_regular_files_are_replaced(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "null").symlink_to("/dev/null")
    for p in (tmp_path / "pipe", tmp_path / "null", Path("/dev/null")):
        with pytest.raises(OutputError, match="not a regular file"):
            check_output_file(p, force=True)
    (tmp_path / "f.png").write_bytes(b"x")
    assert check_output_file(tmp_path / "f.png", force=True) == tmp_path / "f.png"
    with pytest.raises(OutputError, match="exists"):
        check_side_files([tmp_path / "new.png", tmp_path / "f.png"])
    with pytest.raises(OutputError, match="refusing to overwrite the input"):
        check_side_files([tmp_path / "f.png"], force=True, inputs=[tmp_path / "f.png"])


def test_special_inputs_are_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(InputError, match="named pipe"):
        check_input_file(tmp_path / "pipe.png", what="image")
    with pytest.raises(InputError, match="character device"):
        read_image("/dev/zero")


def test_non_finite_pixels_are_refused_with_their_count(tmp_path: Path) -> None:
    arr = np.zeros((8, 8), np.float32)
    arr[0, :3] = np.nan
    arr[1, 0] = np.inf
    Image.fromarray(arr, mode="F").save(tmp_path / "x.tif")
    with pytest.raises(ImageError, match="4 of 64 pixels are not finite"):
        read_image(tmp_path / "x.tif")


def test_env_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SRPRINT_X", raising=False)
    assert env_number("SRPRINT_X", 30.0) == 30.0
    monkeypatch.setenv("SRPRINT_X", "2.5")
    assert env_number("SRPRINT_X", 30.0) == 2.5
    for bad in ("abc", "nan", "inf", "-1"):
        monkeypatch.setenv("SRPRINT_X", bad)
        with pytest.raises(EnvError, match="SRPRINT_X="):
            env_number("SRPRINT_X", 30.0, minimum=0)
    monkeypatch.setenv("SRPRINT_X", "1.5")
    with pytest.raises(EnvError, match="not a whole number"):
        env_number("SRPRINT_X", 3, integer=True)
    monkeypatch.setenv("SRPRINT_PROGRESS_EVERY", "abc")
    with pytest.raises(EnvError, match="SRPRINT_PROGRESS_EVERY"):
        check_environment()


def test_a_lock_refuses_or_waits_and_is_released(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "x.lock"
    with exclusive_lock(lock, what="the folder X", hint="pass --wait"):
        assert f"pid {os.getpid()}" in lock.read_text()
        with (pytest.raises(LockedError, match=r"the folder X is in use by srprint pid \d+ .*; pass --wait"),
              exclusive_lock(lock, what="the folder X", hint="pass --wait")):
            pass
    with exclusive_lock(lock, what="the folder X"):  # released when the block ended
        pass


def test_one_line_keeps_first_and_last() -> None:
    assert one_line("a\n\n  b  c\n\td") == "a ... d"
    assert one_line("x" * 1000).endswith("...") and len(one_line("x" * 1000)) == 600
