"""The v3 benchmark's rows across methods; a machine that lost ``$SRPRINT_HOME`` resumes from the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srprint.errors import SrprintError
from srprint.verification.protocol_v3 import _done, all_rows
from srprint.verification.protocol_v3_markdown import _timing_row
from srprint.verification.protocol_v3_rows import headline_and_current, seed_rows_from_results
from srprint.verification.protocol_v3_timing import carried_timing

ROWS = [{"key": "a|mix", "status": "ok", "verdict": "copy"},
        {"key": "a|neg|b", "status": "ok", "verdict": "independent"}]
TIMING = {"method": "v3.5", "first": {"n": 1, "median": 0.5, "max": 0.5},
          "stored_nulls": {"n": 1, "median": 0.4, "max": 0.4}, "load_average": {"n": 1, "median": 1.0, "max": 1.0}}


def _results(tmp_path: Path, **extra: object) -> Path:
    path = tmp_path / "verification_v3.json"
    path.write_text(json.dumps({"machine": {"git_commit": "abc1234", "date": "2026-12-06"}, "items": ROWS,
                                "timing": TIMING, **extra}))
    return path


def test_missing_rows_are_seeded_and_existing_ones_kept(tmp_path: Path) -> None:
    work = tmp_path / "work"
    timing_rows = [{"key": "a|mix", "method": "v3.5", "seconds_stored_nulls": 0.4}]
    assert seed_rows_from_results(work, _results(tmp_path, timing_items=timing_rows)) == {
        "items.jsonl": 2, "timing.jsonl": 1}
    assert _done(work / "items.jsonl") == {r["key"]: r for r in ROWS}
    (work / "items.jsonl").write_text(json.dumps({"key": "newer", "status": "ok"}) + "\n")
    assert seed_rows_from_results(work, _results(tmp_path)) == {}  # never overwrites what a run wrote
    assert list(_done(work / "items.jsonl")) == ["newer"]
    assert not list(work.glob(".*seeding"))


def test_no_results_or_bad_results(tmp_path: Path) -> None:
    assert seed_rows_from_results(tmp_path / "w", tmp_path / "absent.json") == {}
    assert not (tmp_path / "w").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SrprintError, match="not a results file"):
        seed_rows_from_results(tmp_path / "w", bad)
    bad.write_text(json.dumps({"items": [{"verdict": "copy"}]}))
    with pytest.raises(SrprintError, match="each needs a key"):
        seed_rows_from_results(tmp_path / "w", bad)
    assert not (tmp_path / "w" / "items.jsonl").exists()


def test_carried_timing_says_where_it_came_from(tmp_path: Path) -> None:
    carried = carried_timing(_results(tmp_path))
    assert carried is not None and carried["carried_from"] == "commit abc1234 (2026-12-06)"
    assert "carried from the results of commit abc1234" in _timing_row(carried)[0]
    assert "carried" not in _timing_row(TIMING)[0]
    assert carried_timing(tmp_path / "absent.json") is None


def test_a_partial_rerun_leaves_the_headline_on_the_earlier_rows() -> None:
    lines = [{"key": "a|int8", "method": "v3.5", "verdict": "undecided"},
             {"key": "a|mix", "method": "v3.5", "verdict": "copy"},
             {"key": "a|int8", "method": "v3.6", "verdict": "copy"}]
    headline, current, superseded = headline_and_current(lines, method="v3.6")
    assert [r["verdict"] for r in headline] == ["undecided", "copy"]  # the rerun's chosen rows stay apart
    assert current == [lines[2]] and superseded == [lines[0]]
    lines.append({"key": "a|mix", "method": "v3.6", "verdict": "copy"})
    headline, current, _ = headline_and_current(lines, method="v3.6")
    assert headline == current == [lines[2], lines[3]]  # complete: the new method's rows are the headline


def test_superseded_rows_are_seeded_before_the_latest(tmp_path: Path) -> None:
    old = {"key": "a|int8", "method": "v3.5", "verdict": "undecided"}
    new = {"key": "a|int8", "method": "v3.6", "verdict": "copy"}
    work = tmp_path / "work"
    other = {"key": "a|mix", "method": "v3.5", "verdict": "copy"}
    seed_rows_from_results(work, _results(tmp_path, items=[new, other], items_superseded=[old]))
    assert all_rows(work / "items.jsonl") == [old, new, other]
    assert headline_and_current(all_rows(work / "items.jsonl"), method="v3.6")[0] == [old, other]
