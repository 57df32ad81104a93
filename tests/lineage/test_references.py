"""srprint.lineage.query.candidate_references: the reference pool of a candidate's nulls."""

from __future__ import annotations

import numpy as np

from srprint.lineage import query
from srprint.lineage.store import Record


def _group(tmp_path, n: int) -> list[Record]:
    """``n`` on-disk records of one group, record ``i``'s sketch nearest to records ``i - 1`` and ``i + 1``."""
    recs = []
    for i in range(n):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        angle = i * 0.1
        recs.append(Record(f"m{i}", f"sha{i}", "edsr", "sr", 4, "sr-x4",
                           np.array([np.cos(angle), np.sin(angle)], dtype=np.float32), path=str(folder), key=i))
    return recs


def test_the_pool_is_every_model_of_the_group_but_the_pair_nearest_sketches_included(tmp_path, monkeypatch):
    monkeypatch.setattr(query, "_load_entry", lambda path: str(path))
    recs = _group(tmp_path, 14)
    cand, other = recs[5], recs[9]
    refs = query.candidate_references(cand, recs, exclude={other.key})
    assert sorted(refs) == sorted(r.path for r in recs if r.key not in (cand.key, other.key))
    assert recs[4].path in refs and recs[6].path in refs  # the candidate's nearest sketches (fix of issue 28)
    assert query.candidate_references(cand, recs, exclude={other.key}) == refs  # deterministic
