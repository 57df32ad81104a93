from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from srprint.errors import DatasetError, SrprintError
from srprint.io.checkpoints import save_weights
from srprint.io.images import center_crop, read_image
from srprint.render import jobs as render_jobs
from srprint.render.corpus import Corpus
from srprint.render.jobs import CRASH_ENV
from srprint.render.manifest import REAL_CLASS, RenderedDataset
from srprint.render.run import (
    FAILURES_FILE,
    RenderConfig,
    assign_splits,
    render_dataset,
    render_info,
    select_entries,
)
from srprint.zoo.entry import WEIGHTS_FILE, Zoo, ZooEntry
from srprint.zoo.model import register_loader

from .render_helpers import ZOO_IDS, add_model


def _pngs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("*/*.png"))}


def test_manifest_labels_match_the_zoo_and_splits_are_by_source_image(zoo: Path, base_corpus: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "render"
    s = render_dataset(zoo, base_corpus, out, device="cpu")
    n = len(Corpus.open(base_corpus))
    assert n == 10 and s.rendered == 3 * n and s.existing == 0 and not s.failures
    ds = RenderedDataset.open(out)
    assert len(ds) == 3 * n and ds.model_ids == sorted([*ZOO_IDS, REAL_CLASS])
    for e in Zoo(zoo).entries():
        rows = ds.frame[ds.frame["model_id"] == e.id]
        assert len(rows) == n
        spec = e.spec
        assert set(rows["arch"]) == {spec["arch"]} and set(rows["scale"]) == {spec["scale"]}
        assert set(rows["loss"]) == {spec["loss"]} and set(rows["seed"]) == {spec["seed"]}
        assert set(rows["dataset"]) == {spec["dataset"]} and set(rows["source"]) == {"trained"}
        assert json.loads(rows.iloc[0]["labels_json"])["id"] == e.id
    real = ds.frame[ds.frame["model_id"] == REAL_CLASS]
    assert set(real["source"]) == {"real"} and set(real["scale"]) == {0} and set(real["seed"]) == {-1}
    # every PNG has the HR tile's size, and the HR class holds the corpus image itself
    assert set(ds.frame["width"]) == {32} and set(ds.frame["height"]) == {32}
    im = Corpus.open(base_corpus).images[0]
    np.testing.assert_array_equal(read_image(out / REAL_CLASS / f"{im.image_id}.png"),
                                  read_image(base_corpus / im.file))
    # splits: one split per source image, identical for every model, disjoint, 8/1/1
    per_image = ds.frame.groupby("image_id")["split"].nunique()
    assert (per_image == 1).all()
    by_split = {sp: set(ds.frame.loc[ds.frame["split"] == sp, "image_id"]) for sp in ("train", "val", "test")}
    assert [len(by_split[k]) for k in ("train", "val", "test")] == [8, 1, 1]
    assert not (by_split["train"] & by_split["val"]) and not (by_split["train"] & by_split["test"])
    for mid in ds.model_ids:
        rows = ds.frame[ds.frame["model_id"] == mid]
        assert dict(zip(rows["image_id"], rows["split"], strict=True)) == dict(
            zip(real["image_id"], real["split"], strict=True))
    info = render_info(out)
    assert info["n_models"] == 2 and info["n_source_images"] == n and info["splits"] == {"train": 8, "val": 1,
                                                                                         "test": 1}


def test_sr_output_is_the_model_applied_to_the_bicubic_lr(zoo: Path, base_corpus: Path,
                                                           tmp_path: Path) -> None:
    from srprint.degradation import bicubic_downscale, to_tensor
    from srprint.zoo.model import load_model

    out = tmp_path / "render"
    render_dataset(zoo, base_corpus, out, models="EDSR-*", device="cpu", include_real=False)
    im = Corpus.open(base_corpus).images[3]
    hr = read_image(base_corpus / im.file)
    model = load_model(zoo / ZOO_IDS[0])
    want = model.infer(bicubic_downscale(to_tensor(hr)[None], 2, quantize=True))[0].numpy().transpose(1, 2, 0)
    got = read_image(out / ZOO_IDS[0] / f"{im.image_id}.png")
    assert np.abs(got - want).max() <= 1 / 255 + 1e-6


def test_rerun_renders_nothing_and_repairs_exactly_the_damaged_pngs(zoo: Path, base_corpus: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "render"
    render_dataset(zoo, base_corpus, out, device="cpu")
    before = _pngs(out)
    again = render_dataset(zoo, base_corpus, out, device="cpu")
    assert again.rendered == 0 and again.existing == len(before)
    deleted, corrupted = sorted(before)[1], sorted(before)[-2]
    (out / deleted).unlink()
    (out / corrupted).write_bytes(before[corrupted][: len(before[corrupted]) // 2])  # truncated
    mtimes = {k: (out / k).stat().st_mtime_ns for k in before if k not in (deleted, corrupted)}
    repaired = render_dataset(zoo, base_corpus, out, device="cpu")
    assert repaired.rendered == 2 and repaired.existing == len(before) - 2
    assert _pngs(out) == before  # deterministic: the same bytes come back
    assert all((out / k).stat().st_mtime_ns == t for k, t in mtimes.items())  # nothing else touched
    assert len(RenderedDataset.open(out)) == len(before)


def test_adding_a_model_renders_only_the_new_one(zoo: Path, base_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "render"
    first = render_dataset(zoo, base_corpus, out, models="scale=2", device="cpu")
    assert first.n_models == 1 and first.rendered == 2 * 10
    add_model(zoo, "EDSR-skimage-x4-L1-s3")
    second = render_dataset(zoo, base_corpus, out, device="cpu")
    assert second.rendered == 2 * 10 and second.existing == 2 * 10  # RCAN x4 + the new model
    ds = RenderedDataset.open(out)
    assert ds.model_ids == sorted([*ZOO_IDS, "EDSR-skimage-x4-L1-s3", REAL_CLASS])


def test_models_filter_where_syntax_and_globs(zoo: Path) -> None:
    entries = Zoo(zoo).entries()
    assert [e.id for e in select_entries(entries, "scale=4")] == [ZOO_IDS[1]]
    assert [e.id for e in select_entries(entries, "loss=L1,seed=1")] == [ZOO_IDS[0]]
    assert [e.id for e in select_entries(entries, "RCAN-*")] == [ZOO_IDS[1]]
    assert len(select_entries(entries, None)) == 2
    with pytest.raises(DatasetError, match="matches no model"):
        select_entries(entries, "arch=SwinIR")
    with pytest.raises(DatasetError, match="unknown column"):
        select_entries(entries, "colour=red")


def test_killed_render_resumes_and_renders_only_the_rest(zoo: Path, base_corpus: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "render"
    env = {**os.environ, CRASH_ENV: "13", "SRPRINT_QUIET": "1"}
    proc = subprocess.run([sys.executable, "-m", "srprint.cli", "render", "--zoo", str(zoo), "--corpus",
                           str(base_corpus), "--out", str(out), "--device", "cpu"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 137, proc.stderr
    done = _pngs(out)
    assert len(done) == 13 and not (out / "manifest.parquet").exists()
    assert not list(out.rglob("*.tmp"))  # atomic writes: no half-written file left behind
    resumed = render_dataset(zoo, base_corpus, out, device="cpu")
    assert resumed.existing == 13 and resumed.rendered == 3 * 10 - 13
    assert len(RenderedDataset.open(out)) == 30
    assert all(_pngs(out)[k] == v for k, v in done.items())


def test_failing_model_is_recorded_others_complete_and_cli_exits_nonzero(
        zoo: Path, base_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from srprint.cli import main

    (zoo / ZOO_IDS[1] / WEIGHTS_FILE).write_bytes(b"not a safetensors file")
    out = tmp_path / "render"
    monkeypatch.setattr(sys, "argv", ["srprint", "render", "--zoo", str(zoo), "--corpus", str(base_corpus),
                                      "--out", str(out), "--device", "cpu", "--json"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert "1 of 2 models failed" in err and ZOO_IDS[1] in err
    failures = json.loads((out / FAILURES_FILE).read_text())
    assert list(failures) == [ZOO_IDS[1]] and "corrupt" in failures[ZOO_IDS[1]]["error"]
    ds = RenderedDataset.open(out)
    assert ds.model_ids == sorted([ZOO_IDS[0], REAL_CLASS]) and len(ds) == 20
    # fixing the model and rerunning renders it and clears the failure
    add_model(zoo, ZOO_IDS[1])
    fixed = render_dataset(zoo, base_corpus, out, device="cpu")
    assert fixed.rendered == 10 and not fixed.failures
    assert json.loads((out / FAILURES_FILE).read_text()) == {}


def test_disk_full_stops_cleanly_and_rerun_resumes(zoo: Path, base_corpus: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "render"
    real_write = render_jobs.write_png
    calls = {"n": 0}

    def flaky_write(path: Path, arr: np.ndarray) -> None:
        calls["n"] += 1
        if calls["n"] > 15:
            raise OSError(28, "No space left on device")
        real_write(path, arr)

    monkeypatch.setattr(render_jobs, "write_png", flaky_write)
    with pytest.raises(SrprintError, match="No space left on device.*rerun to resume"):
        render_dataset(zoo, base_corpus, out, device="cpu")
    assert len(_pngs(out)) == 15
    monkeypatch.setattr(render_jobs, "write_png", real_write)
    resumed = render_dataset(zoo, base_corpus, out, device="cpu")
    assert resumed.existing == 15 and resumed.rendered == 15


def test_crop_settings_are_applied_and_too_small_images_skipped(zoo: Path, tmp_path: Path) -> None:
    from srprint.io.images import write_png

    rng = np.random.default_rng(0)
    corpus = tmp_path / "photos"
    for i, (h, w) in enumerate([(50, 70), (40, 45), (20, 60)]):
        write_png(corpus / f"p{i}.png", rng.random((h, w, 3)).astype(np.float32))
    out = tmp_path / "render"
    with pytest.warns(UserWarning, match="p2.png: 60x20 is smaller than the 38x38 crop"):
        s = render_dataset(zoo, corpus, out, cfg=RenderConfig(hr_crop=38), device="cpu")
    assert s.n_source_images == 2 and "p2" in s.skipped_images
    ds = RenderedDataset.open(out)
    sizes = {(r.model_id, r.width) for r in ds.frame.itertuples()}
    assert sizes == {(REAL_CLASS, 38), (ZOO_IDS[0], 38), (ZOO_IDS[1], 36)}  # x4 crop rounded down to 36
    hr = read_image(out / REAL_CLASS / "p0.png")
    np.testing.assert_array_equal(hr, center_crop(read_image(corpus / "p0.png"), 38))
    with pytest.raises(DatasetError, match="other settings"):
        render_dataset(zoo, corpus, out, cfg=RenderConfig(hr_crop=32), device="cpu")


class _Blur(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)


@register_loader("test-blur")
def _load_blur(entry: ZooEntry, state: dict[str, torch.Tensor]) -> nn.Module:
    net = _Blur()
    net.load_state_dict(state)
    return net.conv


def _restoration_entry(zoo: Path, model_id: str, task: str, labels: dict) -> None:
    folder = zoo / model_id
    net = _Blur()
    save_weights(folder / WEIGHTS_FILE, net.state_dict())
    ZooEntry(id=model_id, source="imported", arch="conv", scale=1, task=task, loader="test-blur",
             imported={"file": "x.pth"}, labels={"arch": "conv", **labels}, path=folder).save(folder)


def test_denoisers_render_on_noisy_input_other_tasks_are_skipped(zoo: Path, base_corpus: Path,
                                                                 tmp_path: Path) -> None:
    _restoration_entry(zoo, "dn25", "denoise", {"sigma": 25, "family": "dncnn"})
    _restoration_entry(zoo, "deblur1", "deblur", {})
    out = tmp_path / "render"
    with pytest.warns(UserWarning, match="deblur1 skipped"):
        s = render_dataset(zoo, base_corpus, out, models="source=imported", device="cpu", include_real=False)
    assert "deblur1" in s.skipped_models and s.n_models == 1 and s.rendered == 10
    ds = RenderedDataset.open(out)
    assert set(ds.frame["task"]) == {"denoise"} and set(ds.frame["source"]) == {"imported"}
    labels = json.loads(ds.frame.iloc[0]["labels_json"])
    assert labels["family"] == "dncnn" and labels["imported"] == {"file": "x.pth"}
    assert set(ds.frame["width"]) == {32}


def test_assign_splits_is_seeded_and_proportional() -> None:
    ids = [f"img{i:03d}" for i in range(100)]
    a, b, c = assign_splits(ids, 0), assign_splits(list(reversed(ids)), 0), assign_splits(ids, 1)
    assert a == b and a != c
    assert sorted(a.values()).count("train") == 80 and list(a.values()).count("val") == 10
    assert set(assign_splits(["x", "y", "z"], 0).values()) == {"train", "val", "test"}


@pytest.mark.slow
def test_process_pool_gives_the_same_bytes_as_in_process(zoo: Path, base_corpus: Path, tmp_path: Path) -> None:
    one = render_dataset(zoo, base_corpus, tmp_path / "one", device="cpu", include_real=False)
    two = render_dataset(zoo, base_corpus, tmp_path / "two", device="cpu", include_real=False, jobs=2)
    assert one.rendered == two.rendered == 20
    assert _pngs(tmp_path / "one") == _pngs(tmp_path / "two")
