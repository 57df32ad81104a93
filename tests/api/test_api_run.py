"""The public API on tiny models of the demo grid (scikit-image photos): results, the descriptor, trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import srprint

SOURCE = "EDSR-skimage-x2-L1-s1"


@pytest.fixture(scope="module")
def made_image(tiny_zoo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 48 px image made by the tiny zoo's EDSR x2 from a held-out photo's 24 px crop."""
    from srprint.io.images import skimage_photos
    from srprint.zoo.training_sets import SKIMAGE_HOLDOUT

    lr = skimage_photos()[SKIMAGE_HOLDOUT][100:124, 200:224, :3]
    out = tmp_path_factory.mktemp("made") / "made.png"
    srprint.super_resolve(lr, model=SOURCE, zoo=tiny_zoo, out=out, device="cpu")
    return out


def test_load_zoo_gives_descriptors_without_loading_networks(tiny_zoo: Path) -> None:
    zoo = srprint.load_zoo(tiny_zoo)
    assert zoo.ids == sorted(zoo.ids) and SOURCE in zoo.ids
    m = zoo[SOURCE]
    assert (m.architecture, m.scale, m.task, m.input_range) == ("EDSR", 2, "sr", (0.0, 1.0))
    assert m.device in ("cpu", "cuda") and not m._network  # nothing loaded yet
    assert m.provenance["source"] == "trained" and m.weights is not None and m.weights.is_file()
    d = json.loads(zoo.to_json())
    assert d["models"][0]["id"] == zoo.ids[0] and "entry" not in d["models"][0]
    assert "<table>" in zoo._repr_html_()


def test_load_model_accepts_auto_and_is_callable_on_arrays_and_tensors(tiny_zoo: Path) -> None:
    import torch

    m = srprint.load_model(tiny_zoo / SOURCE, device="auto")
    y = m(np.zeros((8, 10, 3), np.uint8))
    assert y.shape == (16, 20, 3) and y.dtype == np.float32
    t = m(torch.zeros(1, 3, 8, 8))
    assert tuple(t.shape) == (1, 3, 16, 16)
    assert tuple(m(torch.zeros(3, 8, 8)).shape) == (3, 16, 16)
    assert m.to("cpu").device == "cpu"
    assert repr(m).startswith("Model('EDSR-skimage-x2-L1-s1'")


def test_super_resolve_result_is_frozen_and_serialisable(tiny_zoo: Path) -> None:
    import dataclasses

    r = srprint.super_resolve(np.zeros((6, 6, 3), np.float32), model=SOURCE, zoo=tiny_zoo)
    assert r.output_shape == (12, 12, 3) and r.image.shape == (12, 12, 3)
    assert "image" not in r.to_dict() and json.loads(r.to_json())["model"] == SOURCE
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.model = "x"  # type: ignore[misc]


def test_bad_inputs_raise_srprint_errors(tiny_zoo: Path) -> None:
    from srprint.errors import SrprintError

    with pytest.raises(SrprintError):
        srprint.load_zoo(tiny_zoo / "missing")
    with pytest.raises(SrprintError):
        srprint.load_model("no-such-model")
    with pytest.raises(SrprintError):
        srprint.load_model(SOURCE, zoo=tiny_zoo, device="tpu")
    with pytest.raises(SrprintError):
        srprint.verify(SOURCE, SOURCE, zoo=tiny_zoo, method="nope")


@pytest.mark.slow
def test_trace_from_python_one_liner(tiny_zoo: Path, made_image: Path) -> None:
    """Acceptance 1: ``python -c "import srprint; r = srprint.trace(...); print(r.verdict)"``."""
    # alpha 0.1: the library names a PNG's model at alpha x 1e-2 (TraceSettings.pixel_level); this 12-iteration
    # model comes to only 12x the 8-bit floor (p 4.7e-5), named at the level 1e-3, not at 1e-5
    code = (f"import srprint; r = srprint.trace({str(made_image)!r}, zoo={str(tiny_zoo)!r}, alpha=0.1); "
            "print(r.verdict); print(r.model)")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    verdict, model = out.stdout.strip().splitlines()[-2:]
    assert (verdict, model) == ("made by", SOURCE)


def test_verify_lineage_of_a_model_with_itself(tiny_zoo: Path) -> None:
    v = srprint.verify(SOURCE, tiny_zoo / SOURCE, zoo=tiny_zoo, references=[tiny_zoo], device="cpu")
    assert v.method == "lineage" and v.verdict == "copy"
    assert json.loads(v.to_json())["source"] == SOURCE
