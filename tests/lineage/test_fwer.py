"""srprint.lineage: a lookup's family-wise error rate over the index (weighted Holm by kernel layout)."""

from __future__ import annotations

import numpy as np
import pytest

from srprint.lineage.familywise import fwer, holm, layout_weights
from srprint.lineage.query import fwer_of
from srprint.lineage.relate import Relation
from srprint.lineage.store import Record

ALPHA = 0.05


def _stats(sizes: tuple[int, ...]) -> dict:
    return {"layers": [[n, 0.1] for n in sizes]}


def _group(n_same: int, n_other: int) -> list[Record]:
    mine, other = (64, 576, 576, 48), (32, 288, 12)
    return [Record(f"m{i}", f"{i:064x}", "a", "sr", 4, "sr-x4", np.zeros(4), _stats(mine if i < n_same else other))
            for i in range(n_same + n_other)]


def _rel(candidate: str, p: float) -> Relation:
    return Relation(candidate, "derived", "copy", p, 30.0, 0.1)


def test_a_relative_with_the_suspects_layout_is_accepted_in_a_large_group():
    # 126 indexed models, 6 with the suspect's layout: a true copy's p-value of 2e-3 (a wide null's
    # Cantelli bound) was FWER 126 * 2e-3 = 0.25 under plain Holm; half the level on the 6 makes it 0.024
    recs = _group(6, 120)
    rels = [_rel("m0", 2e-3), _rel("m1", 3e-3), _rel("m50", 0.2)]
    fwer_of(_stats((64, 576, 576, 48)), recs, len(recs))(rels)
    assert rels[0].fwer == pytest.approx(2e-3 * 12) and rels[0].fwer < ALPHA
    assert rels[1].fwer == pytest.approx((126 - 10.5) * 3e-3 / 10.5) and rels[1].fwer < ALPHA  # m0's weight gone
    assert holm([2e-3, 3e-3, 0.2], 126)[0] > ALPHA  # what plain Holm gave
    # a model of another layout needs a smaller p-value than under plain Holm (the other half of the level)
    other = [_rel("m50", 3e-4)]
    fwer_of(_stats((64, 576, 576, 48)), recs, len(recs))(other)
    assert other[0].fwer == pytest.approx(3e-4 * 126 / (0.5 * 126 / 120))
    assert other[0].fwer > holm([3e-4], 126)[0]


def test_weights_sum_to_the_group_and_equal_weights_are_holm():
    recs = _group(6, 120)
    w = layout_weights(_stats((64, 576, 576, 48)), {r.model_id: r.stats for r in recs}, 126)
    assert sum(w.values()) == pytest.approx(126)
    assert w["m0"] == pytest.approx(10.5) and w["m9"] == pytest.approx(63 / 120)
    # one layout only, or a suspect without kernels: every weight 1, plain Holm
    assert set(layout_weights(_stats((64,)), {r.model_id: r.stats for r in recs[6:]}, 120).values()) == {1.0}
    assert set(layout_weights({}, {r.model_id: r.stats for r in recs}, 126).values()) == {1.0}
    p = [1e-4, None, 2e-4, 0.3]
    assert fwer(p, [1.0] * 4, 10) == holm(p, 10)


def test_weighted_holm_keeps_the_family_wise_error_rate_when_the_nearest_are_confirmed():
    """Under the global null (no indexed model related), confirming the 3 most similar candidates (the
    smallest p-values: the worst case of the lookup's choice) and counting the others with p = 1 keeps the
    family-wise error rate at the level; Holm over the 3 confirmed alone does not."""
    rng = np.random.default_rng(0)
    m, n_same, k, draws = 40, 5, 3, 20_000
    weights = np.array([0.5 * m / n_same] * n_same + [0.5 * m / (m - n_same)] * (m - n_same))
    p = rng.uniform(size=(draws, m))
    weighted = plain_k = 0
    for row in p:
        top = np.argsort(row)[:k]
        weighted += min(fwer(list(row[top]), list(weights[top]), m)) < ALPHA
        plain_k += min(holm(list(row[top]), k)) < ALPHA
    assert weighted / draws <= ALPHA + 0.005
    assert plain_k / draws > 3 * ALPHA
