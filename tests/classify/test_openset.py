"""Open-set ROC points: thinned, from (0, 0) to (1, 1), and their AUROC agrees with the reported one."""

from __future__ import annotations

import numpy as np

from srprint.classify.openset import auroc_known_vs_unknown, roc_points


def test_roc_points_are_thinned_and_span_the_curve() -> None:
    rng = np.random.default_rng(0)
    known, unknown = rng.normal(1.0, 1.0, 500), rng.normal(0.0, 1.0, 400)
    roc = roc_points(known, unknown, max_points=21)
    assert roc is not None and len(roc["fpr"]) == len(roc["tpr"]) <= 21
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0) and (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    area = float(np.trapezoid(roc["tpr"], roc["fpr"]))
    assert abs(area - auroc_known_vs_unknown(known, unknown)) < 0.02


def test_no_roc_without_both_sides() -> None:
    assert roc_points(np.ones(3), np.array([])) is None
