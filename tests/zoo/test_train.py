import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from srprint.errors import CheckpointError, DatasetError
from srprint.io.checkpoints import load_weights
from srprint.zoo.api import preset_train_config
from srprint.zoo.entry import Zoo, ZooEntry
from srprint.zoo.model import load_model
from srprint.zoo.specs import parse_model_id
from srprint.zoo.train import STATE_FILE, train_model
from srprint.zoo.training_sets import load_training_set, quarter_subset, sample_batch

SPEC = "EDSR-skimage-x2-L1-s3"
ITERS, CKPT = 40, 8

TRAIN_SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from srprint.zoo.api import preset_train_config
from srprint.zoo.specs import parse_model_id
from srprint.zoo.train import train_model
cfg = preset_train_config("demo", iters={iters}, ckpt_every={ckpt})
train_model(parse_model_id("{spec}"), sys.argv[1], cfg)
"""


def _cfg():  # noqa: ANN202
    return preset_train_config("demo", iters=ITERS, ckpt_every=CKPT)


def test_sigkilled_training_resumes_to_bit_identical_weights(tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = train_model(parse_model_id(SPEC), tmp_path / "ref", _cfg())
        killed_zoo = tmp_path / "killed"
        script = TRAIN_SCRIPT.format(iters=ITERS, ckpt=CKPT, spec=SPEC)
        proc = subprocess.Popen([sys.executable, "-c", script, str(killed_zoo)], env={**os.environ})
        progress = killed_zoo / SPEC / "progress.json"
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if progress.exists():
                try:
                    it = json.loads(progress.read_text())["iteration"]
                except (json.JSONDecodeError, KeyError):
                    it = 0
                if it >= CKPT:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "training finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert (killed_zoo / SPEC / STATE_FILE).exists()
        assert not Zoo(killed_zoo).has(SPEC)
        resumed_from = json.loads(progress.read_text())["iteration"]
        assert 0 < resumed_from < ITERS
        done = train_model(parse_model_id(SPEC), killed_zoo, _cfg())
    finally:
        torch.set_num_threads(threads)
    a, b = load_weights(ref.weights_path), load_weights(done.weights_path)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not (killed_zoo / SPEC / STATE_FILE).exists()


def test_same_seed_same_weights_and_other_seed_differs(tmp_path: Path) -> None:
    cfg = preset_train_config("demo", iters=4, ckpt_every=100)
    a = train_model(parse_model_id("EDSR-skimage-x2-L1-s1"), tmp_path / "a", cfg)
    b = train_model(parse_model_id("EDSR-skimage-x2-L1-s1"), tmp_path / "b", cfg)
    c = train_model(parse_model_id("EDSR-skimage-x2-L1-s2"), tmp_path / "c", cfg)
    wa, wb, wc = (load_weights(e.weights_path) for e in (a, b, c))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_record_contents_and_finished_model_is_skipped(tiny_zoo: Path) -> None:
    entry = Zoo(tiny_zoo).get("EDSR-skimage-x2-L1-s1")
    assert entry.status == "complete" and entry.source == "trained"
    assert entry.spec == {"arch": "EDSR", "dataset": "skimage", "scale": 2, "loss": "L1", "seed": 1, "size": "tiny"}
    assert entry.train["perceptual_weights"] == "none"
    assert {"psnr", "ssim", "bicubic_psnr"} <= set(entry.metrics)
    assert entry.versions["torch"] == torch.__version__
    mtime = entry.weights_path.stat().st_mtime_ns
    again = train_model(parse_model_id("EDSR-skimage-x2-L1-s1"), tiny_zoo, preset_train_config("demo", iters=12))
    assert again.weights_path.stat().st_mtime_ns == mtime


def test_loaded_model_reproduces_outputs(tiny_zoo: Path) -> None:
    m = load_model(tiny_zoo / "RCAN-skimage-x4-L1-s1")
    x = torch.rand(1, 3, 10, 12)
    y1, y2 = m.infer(x), load_model(tiny_zoo / "RCAN-skimage-x4-L1-s1").infer(x)
    assert y1.shape == (1, 3, 40, 48) and torch.equal(y1, y2)
    assert float(y1.min()) >= 0 and float(y1.max()) <= 1


def test_gan_loss_records_feature_network_provenance(tmp_path: Path) -> None:
    cfg = preset_train_config("demo", iters=4, ckpt_every=100, gan_warmup=0.5)
    e = train_model(parse_model_id("EDSR-skimage-x2-ResNet+Adv-s1"), tmp_path, cfg)
    assert e.train["perceptual_weights"] == "random(seed=1234)"
    assert any("adv" in h for h in e.train["loss_history"]) or e.iterations == 4


def test_corrupt_checkpoint_is_reported_and_not_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / SPEC
    folder.mkdir(parents=True)
    (folder / STATE_FILE).write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt checkpoint"):
        train_model(parse_model_id(SPEC), tmp_path, _cfg())
    assert (folder / STATE_FILE).read_bytes() == b"garbage"


def test_corrupt_weights_of_a_zoo_entry_give_a_clear_error(tiny_zoo: Path, tmp_path: Path) -> None:
    import shutil

    dst = tmp_path / "EDSR-skimage-x2-L1-s1"
    shutil.copytree(tiny_zoo / "EDSR-skimage-x2-L1-s1", dst)
    data = (dst / "model.safetensors").read_bytes()
    (dst / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_model(ZooEntry.load(dst))


def test_training_set_helpers(tmp_path: Path) -> None:
    files = [tmp_path / f"{i:02d}.png" for i in range(9)]
    assert quarter_subset(files) == [files[0], files[4], files[8]]
    ts = load_training_set("skimage", 48)
    a = sample_batch(ts, 2, 48, batch_size=4, seed=1, iteration=7)
    b = sample_batch(ts, 2, 48, batch_size=4, seed=1, iteration=7)
    c = sample_batch(ts, 2, 48, batch_size=4, seed=1, iteration=8)
    assert a[0].shape == (4, 3, 24, 24) and a[1].shape == (4, 3, 48, 48)
    assert torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])


def test_images_smaller_than_the_crop_are_skipped_then_refused(tmp_path: Path) -> None:
    import numpy as np

    from srprint.io.images import write_png

    folder = tmp_path / "photos"
    write_png(folder / "big.png", np.random.default_rng(0).random((64, 64, 3)))
    write_png(folder / "small.png", np.zeros((20, 20, 3)))
    with pytest.warns(UserWarning, match="small.png.*smaller"):
        ts = load_training_set("mine", 48, {"mine": str(folder)})
    assert len(ts.images) == 1
    with pytest.raises(DatasetError, match="no image is at least"):
        load_training_set("mine", 96, {"mine": str(folder)})


def test_unknown_training_set_names_the_folder_to_fill(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path))
    with pytest.raises(DatasetError, match="div2k"):
        load_training_set("div2k", 48)


def test_a_kill_during_the_final_write_resumes_from_the_checkpoint(tmp_path: Path) -> None:
    # the finished entry replaces the training folder by a rename; a writer killed after moving the
    # training folder aside (".ID.old-PID-TAG") must not cost the checkpoint
    cfg = preset_train_config("demo", iters=6, ckpt_every=2)
    spec = parse_model_id("EDSR-skimage-x2-L1-s1")
    train_model(spec, tmp_path / "zoo", cfg, stop_after=4)
    folder = tmp_path / "zoo" / spec.id
    assert (folder / STATE_FILE).is_file() and not Zoo(tmp_path / "zoo").has(spec.id)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    folder.rename(folder.parent / f".{spec.id}.old-{dead}-deadbeef")
    seen: list[int] = []
    entry = train_model(spec, tmp_path / "zoo", cfg, progress=lambda i, n, parts: seen.append(i))
    assert seen[0] == 5 and entry.status == "complete"  # resumed at iteration 4, not restarted
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.safetensors"]
    assert [p.name for p in (tmp_path / "zoo").iterdir()] == [spec.id]
    reference = train_model(spec, tmp_path / "ref", cfg)
    a, b = load_weights(entry.weights_path), load_weights(reference.weights_path)
    assert all(torch.equal(a[k], b[k]) for k in a)
