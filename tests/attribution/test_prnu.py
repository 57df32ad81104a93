from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srprint.attribution.prnu import PRNUConfig, evaluate_prnu, fit_prnu, prnu_scores, residual
from srprint.classify.run_folder import RunError

from .conftest import KNOWN


def test_prnu_fit_eval_same_tables(tiny_render: Path, tmp_path: Path) -> None:
    where = f"model_id={'|'.join(KNOWN)}"
    run = fit_prnu(tiny_render, tmp_path / "prnu", PRNUConfig(crop=32, metric="ncc"), where=where)
    fp = np.load(run / "fingerprints.npy")
    assert fp.shape == (4, 32 * 32 * 3)
    res = evaluate_prnu(run)
    assert res["n"] == 20 and res["n_classes"] == 4 and res["overall_acc"] > 0.25
    assert {"per_class", "grouped", "seed_groups", "confusion"} <= set(res)
    assert Path(res["figures"]["confusion"]).is_file()
    assert fit_prnu(tiny_render, run, PRNUConfig(crop=32, metric="ncc"), where=where) == run  # cached
    with pytest.raises(RunError, match="different PRNU run"):
        fit_prnu(tiny_render, run, PRNUConfig(crop=64), where=where)


def test_residual_and_scores() -> None:
    rng = np.random.default_rng(0)
    img = np.full((20, 20, 3), 0.5, np.float32)
    r = residual(img, "wavelet", crop=16)
    assert r.shape == (16, 16, 3) and np.abs(r).max() < 1e-3  # flat image: no residual
    fps = rng.normal(size=(3, 50))
    res = fps[[2, 0]] + 0.01 * rng.normal(size=(2, 50))
    for metric in ("euclidean", "ncc"):
        assert prnu_scores(res, fps, metric).argmax(1).tolist() == [2, 0]
