"""The lookup's second list (srprint.lineage.query.nearest_in_weights): the suspect's layout, nearest in weights."""

import numpy as np

from srprint.lineage.query import nearest_in_weights
from srprint.lineage.relate import SUSPECT
from srprint.lineage.store import Record

MINE = {"layers": [[27, "a"], [9, "b"]]}
OTHER = {"layers": [[27, "a"], [18, "b"]]}


def _rec(mid, stats):
    return Record(mid, "0" * 64, "EDSR", "sr", 2, "sr-x2", np.zeros(4), stats=stats)


def test_nearest_in_weights_keeps_the_layout_and_orders_by_weights_not_sketch():
    pool = [(_rec("sib", MINE), 0.01), (_rec("other-arch", OTHER), 0.02), (_rec("parent", MINE), 0.05),
            (_rec("unreadable", MINE), 0.06), (_rec("far", MINE), 0.07)]
    weights = {"sib": 2.0, "parent": 1.0, "far": 9.0, "other-arch": 0.1, "unreadable": None}
    seen = []

    def distance(a, b):
        assert a == SUSPECT
        seen.append(b)
        return weights[b]

    got = nearest_in_weights(pool, MINE, distance, 2)
    assert [r.model_id for r, _ in got] == ["parent", "sib"]  # the sketch put the sibling first
    assert [d for _, d in got] == [0.05, 0.01]  # each keeps its sketch distance
    assert "other-arch" not in seen  # another layout's weights are never read
    assert nearest_in_weights(pool, None, distance, 2) == []  # no layout known: nothing
    assert nearest_in_weights(pool, MINE, distance, 0) == []
