"""Ctrl-C: exit 130 with the message, no half-written entry or image, and a rerun that completes."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from .runner import popen_cli, run_cli

INTERRUPTED = "interrupted; finished work is kept, rerun to resume"


def _interrupt_when(proc: subprocess.Popen[str], ready, timeout: float = 120.0) -> tuple[int, str]:  # noqa: ANN001
    """Send SIGINT once ``ready()`` is true; returns (exit code, stderr)."""
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"finished before it could be interrupted: rc={proc.returncode} {proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail("never became ready")
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _rtc_checkpoints(folder: Path, n: int) -> Path:
    import srprint.zoo.imports  # noqa: F401  (registers the ports)
    from srprint.zoo.archs import create_arch

    folder.mkdir()
    rows = ["id,file,arch"]
    for k in range(n):
        torch.manual_seed(k)
        net = create_arch("IMDN_RTC", 2, config={"nf": 12, "num_modules": 2})
        torch.save({f"module.{key}": v for key, v in net.state_dict().items()}, folder / f"rtc{k}.pth")
        rows.append(f"rtc{k},rtc{k}.pth,IMDN_RTC")
    (folder / "models.csv").write_text("\n".join(rows) + "\n")
    return folder / "models.csv"


def _complete_entries(zoo: Path) -> list[str]:
    out = []
    for d in sorted(zoo.iterdir()):
        if d.name.startswith("."):
            continue
        assert (d / "model.json").is_file() and (d / "model.safetensors").is_file(), f"partial entry {d}"
        out.append(d.name)
    return out


def test_sigint_during_zoo_import_manifest(tmp_path: Path) -> None:
    manifest = _rtc_checkpoints(tmp_path / "ckpt", 12)
    zoo = tmp_path / "zoo"
    args = ["zoo", "import", "--manifest", str(manifest), "--zoo", str(zoo)]
    proc = popen_cli(args, home=tmp_path / "home", cwd=tmp_path)
    rc, err = _interrupt_when(proc, lambda: zoo.is_dir() and len(_complete_entries(zoo)) >= 1)
    assert rc == 130, err
    assert INTERRUPTED in err and "Traceback" not in err, err
    done = _complete_entries(zoo)
    assert 1 <= len(done) < 12
    again = run_cli(args, home=tmp_path / "home", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(_complete_entries(zoo)) == 12
    left = [str(p) for p in zoo.rglob("*") if p.name.startswith(".") and "tmp" in p.name]
    assert not left, f"temporary files left after the rerun: {left}"
    assert again.stdout.count("skip") == len(done)


def test_sigint_during_render(tmp_path: Path) -> None:
    from .workspace import _entry

    zoo = tmp_path / "zoo"
    for k in range(3):
        _entry(zoo, f"EDSR-skimage-x2-L1-s{k + 1}", k + 1)
    home = tmp_path / "home"
    corpus = tmp_path / "corpus"
    prep = run_cli(["corpus", "prepare", "skimage:", "-o", str(corpus), "--tile", "96"], home=home, cwd=tmp_path)
    assert prep.returncode == 0, prep.stderr
    out = tmp_path / "render"
    args = ["render", "--zoo", str(zoo), "--corpus", str(corpus), "-o", str(out), "--device", "cpu"]
    proc = popen_cli(args, home=home, cwd=tmp_path)
    rc, err = _interrupt_when(proc, lambda: out.is_dir() and any(out.rglob("*.png")))
    assert rc == 130, err
    assert INTERRUPTED in err and "Traceback" not in err, err
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "temporary files left"
    again = run_cli(args + ["--json"], home=home, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (out / "manifest.parquet").is_file()
    import json

    summary = json.loads(again.stdout)
    assert summary["existing"] >= 1  # the interrupted run's finished images were kept
