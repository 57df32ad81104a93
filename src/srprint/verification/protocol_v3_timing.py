"""Timing of the v3 protocol's decided pairs, as a registry meets them (``bench/verification.py --timing``).

Split from :mod:`.protocol_v3`, whose item rows it reads: a sample of decided pairs is verified twice, the
second time with the source's nulls stored (:mod:`.null_cache`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .protocol_v3 import METHOD, ProtocolV3Options, _append, _done, _jobs, _rate, select_sources


def _timing_sample(rows: list[dict[str, Any]], per_source: int) -> list[dict[str, Any]]:
    """Decided scored rows to time: for each source, its first decided negative, its first copy that the
    lineage stage decided (an edit that changes the function), and its first exact copy, up to ``per_source``."""
    picked: list[dict[str, Any]] = []
    by_source: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("status") == "ok" and r.get("verdict") != "undecided" and r["kind"] in ("negative", "copy-scored"):
            by_source.setdefault(r["source"], []).append(r)
    for src in sorted(by_source):
        rs = by_source[src]
        firsts = [next((r for r in rs if pred(r)), None) for pred in (
            lambda r: r["kind"] == "negative",
            lambda r: r["kind"] == "copy-scored" and r.get("function") != "same",
            lambda r: r["kind"] == "copy-scored" and r.get("function") == "same")]
        picked += [r for r in firsts if r is not None][:per_source]
    return picked


def time_decided_pairs(*, work: Path, published: Path, mini: Path, per_source: int = 3,
                       max_seconds: float = 1800.0) -> list[dict[str, Any]]:
    """Time :func:`~.ownership.verify_models` on a sample of decided pairs, as a registry meets them.

    Each pair is verified twice in this process, each time with a fresh in-memory cache and models read
    from disk again: the first call computes (or reads) the source's nulls and stores them under
    ``$SRPRINT_HOME`` (:mod:`.null_cache`); the second is the time of a check against a registered owner
    whose nulls are stored. Rows go to ``<work>/timing.jsonl`` as they finish, with the method that ran
    (a rerun resumes, and times again a pair last timed under another method).

    Returns
    -------
    list of dict
        Every timing row written so far.
    """
    from .fingerprint import load_entry_model
    from .ownership import memoised, verify_models
    from .protocol import make_copy

    sources, calibration, population = select_sources(published, mini)
    by_id = {e.id: e for e in population}
    items, out = work / "items.jsonl", work / "timing.jsonl"
    done = _done(out)
    jobs = {j[0]: j for j in _jobs(sources, calibration, population, ProtocolV3Options())}
    t_start = time.perf_counter()
    for row in _timing_sample(list(_done(items).values()), per_source):
        if done.get(row["key"], {}).get("method") == METHOD or row["key"] not in jobs:
            continue
        if time.perf_counter() - t_start > max_seconds:
            break
        _, src, kind, tag, what = jobs[row["key"]]
        suspect = by_id[what.id] if kind == "negative" else make_copy(src, what, work / "attacked", tag=tag)
        seconds, verdicts = [], []
        for _ in range(2):
            t0 = time.perf_counter()
            v = verify_models(src, suspect, load=memoised(load_entry_model), references=population, cache={})
            seconds.append(round(time.perf_counter() - t0, 2))
            verdicts.append(v.verdict)
        _append(out, {"key": row["key"], "method": METHOD, "kind": kind, "edit": tag, "verdict_run": row["verdict"],
                      "verdicts": verdicts, "seconds_first": seconds[0], "seconds_stored_nulls": seconds[1],
                      "load_average": round(os.getloadavg()[0], 2)})
    return list(_done(out).values())


def summarise_timing(rows: list[dict[str, Any]], *, method: str = METHOD, target_s: float = 5.0) -> dict[str, Any]:
    """Median and max of both timings, the share of pairs within ``target_s`` with the source's nulls stored
    (Wilson 95 %), the slowest pairs, and whether the repeated verdicts agree with the run's. Rows timed
    under another method than ``method`` are counted apart (``older_rows``), not summarised."""
    def stats(xs: list[float]) -> dict[str, Any]:
        xs = sorted(xs)
        return {"n": len(xs), "median": xs[len(xs) // 2] if xs else None, "max": xs[-1] if xs else None}

    current = [r for r in rows if r.get("method") == method]
    slowest = sorted(current, key=lambda r: -r["seconds_stored_nulls"])[:5]
    return {"method": method, "older_rows": len(rows) - len(current), "target_s": target_s,
            "first": stats([r["seconds_first"] for r in current]),
            "stored_nulls": stats([r["seconds_stored_nulls"] for r in current]),
            "within_target": _rate(sum(r["seconds_stored_nulls"] <= target_s for r in current), len(current)),
            "slowest": [{"key": r["key"], "seconds_stored_nulls": r["seconds_stored_nulls"]} for r in slowest],
            "verdicts_repeat": sum(len(set(r["verdicts"])) == 1 for r in current),
            "verdicts_match_run": sum(r["verdicts"][-1] == r["verdict_run"] for r in current),
            "load_average": stats([r["load_average"] for r in current])}


def carried_timing(results_json: Path) -> dict[str, Any] | None:
    """The timing summary of the committed results ``results_json``, marked ``carried_from`` its commit, for a
    machine that has no timing rows (before ``timing_items`` they lived only under ``$SRPRINT_HOME``): the
    results page keeps the measured timing, saying it was not timed again. ``None`` without one."""
    try:
        data = json.loads(results_json.read_text()) if results_json.is_file() else {}
    except json.JSONDecodeError:
        return None
    timing = data.get("timing")
    if not isinstance(timing, dict) or not timing.get("stored_nulls"):
        return None
    machine = data.get("machine") or {}
    return {**timing, "carried_from": timing.get("carried_from")
            or f"commit {machine.get('git_commit', '?')} ({machine.get('date', '?')})"}
