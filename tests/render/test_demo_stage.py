from __future__ import annotations

from pathlib import Path

import pytest

from srprint.render import demo as render_mod
from srprint.render.manifest import REAL_CLASS, RenderedDataset
from srprint.study.run import DemoContext


def test_demo_stage_renders_the_zoo_on_bundled_photo_tiles_and_reruns_instantly(
        base_zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_mod, "DEMO_TILE", 32)  # tiny tiles keep the test fast
    monkeypatch.setattr(render_mod, "DEMO_MAX_TILES", 2)
    ctx = DemoContext(out=tmp_path, device="cpu", zoo_dir=base_zoo)
    first = render_mod.demo_stage(ctx)
    ds = RenderedDataset.open(first["render"])
    n_src = first["n_source_images"]
    assert n_src == 12 and first["n_models"] == 2 and first["rendered"] == 3 * n_src == first["n_images"]
    assert len(ds) == 3 * n_src and REAL_CLASS in ds.model_ids
    assert all(i.startswith("skimage_") and "_r" in i for i in ds.frame["image_id"])
    again = render_mod.demo_stage(ctx)
    assert again["rendered"] == 0 and again["n_images"] == first["n_images"]
