"""The v3 benchmark's item rows across methods: which rows the targets use, and resuming from the results.

``items.jsonl`` keeps every row ever written (one line each); the latest row of an item counts. While a new
method's rerun is partial, its rows are not a sample of the benchmark (a rerun may start with the items the
previous method got wrong), so the targets keep each item's row from *before* the rerun and the new method's
rows are summarised apart (:func:`headline_and_current`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import SrprintError
from .protocol_v3 import METHOD


def headline_and_current(lines: list[dict[str, Any]], *, method: str = METHOD
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """``(headline, current, superseded)`` from every row written (:func:`.protocol_v3.all_rows`).

    ``current``: the latest row of each item that ``method`` ran. ``headline``: the latest row of every item
    when ``method`` ran them all; otherwise, for each item, its latest row of an earlier method (the item's
    latest row where it has none), so the targets are not computed on a selected subset of the new method's
    rows. ``superseded``: for items whose latest row is ``method``'s, their latest earlier row (kept in the
    results so a machine that lost ``$SRPRINT_HOME`` can rebuild both views).
    """
    latest: dict[str, dict[str, Any]] = {}
    earlier: dict[str, dict[str, Any]] = {}
    for row in lines:
        key = row.get("key")
        if not isinstance(key, str):
            continue
        latest[key] = row
        if row.get("method") != method:
            earlier[key] = row
    current = [r for r in latest.values() if r.get("method") == method]
    superseded = [earlier[r["key"]] for r in current if r["key"] in earlier]
    if len(current) == len(latest):
        return list(latest.values()), current, superseded
    return [earlier.get(k, r) for k, r in latest.items()], current, superseded


def seed_rows_from_results(work: Path, results_json: Path) -> dict[str, int]:
    """Write the committed results' rows back to ``work`` where its row files are missing, so a machine whose
    ``$SRPRINT_HOME`` lost them resumes the benchmark instead of starting over (the rows hold every verdict;
    attacked models and nulls are recomputed as the remaining items need them).

    ``results_json`` is ``bench/results/verification_v3.json``: its ``items_superseded`` (earlier methods' rows
    of items a later method ran again) and then its ``items`` go to ``items.jsonl``, and its ``timing_items``
    (where present) to ``timing.jsonl``. An existing file is never touched. Returns how many
    rows each written file got.

    Raises
    ------
    SrprintError
        If ``results_json`` exists but is not a results file (not JSON, or rows without a ``key``).
    """
    if not results_json.is_file():
        return {}
    try:
        data = json.loads(results_json.read_text())
    except json.JSONDecodeError as exc:
        raise SrprintError(f"{results_json} is not a results file: {exc}") from exc
    written: dict[str, int] = {}
    for name, field_names in (("items.jsonl", ("items_superseded", "items")), ("timing.jsonl", ("timing_items",))):
        rows, target = [r for f in field_names for r in data.get(f) or []], work / name
        if not rows or target.exists():
            continue
        if not all(isinstance(r, dict) and isinstance(r.get("key"), str) for r in rows):
            raise SrprintError(f"{results_json}: its {'/'.join(field_names)} are not benchmark rows (each needs a key)")
        work.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.seeding")
        tmp.write_text("".join(json.dumps(r, default=float) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(target)  # atomic: a kill leaves no half-seeded file that a rerun would trust
        written[name] = len(rows)
    return written
