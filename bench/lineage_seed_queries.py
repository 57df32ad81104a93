"""Write a committed lineage run's answers back as the per-query files ``bench/lineage.py`` reads (issue 28).

``bench/lineage.py`` keeps each query's answer in ``$SRPRINT_HOME/bench/lineage/<queries>/{kind}-{name}.json``
(and the model's id in ``.id.json``); ``--report-only`` chooses every answer again from the confirmations kept
there. A new machine has none of them, but ``bench/results/lineage.json`` holds every row of the last run,
confirmations included. This script writes those rows back, so a report-only run re-chooses the committed
confirmations (the confirmations do not depend on the choice) without running a query.

The results file is untrusted input: every row must name a model of the population made on this machine
(its kind and name, and the id read from that model's own ``model.json``); the row's ``path`` is never used
(the population's path is); every field written back is type-checked. A file already there is never
overwritten (an answer run here wins). Bad input: one line, exit 2.

Usage: ``python bench/lineage_seed_queries.py [--results bench/results/lineage.json] [--queries queries-v7]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS  # noqa: E402

KINDS = {"reupload": "reuploads", "derived": "derived", "root": "roots", "independent": "independent"}
QUERIES_NAME = re.compile(r"queries-[A-Za-z0-9_.-]{1,40}")
ITEM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,150}")
NUMBERS = ("fwer", "lookup_ms", "sketch_s", "confirm_s", "choose_s", "query_s", "t_done")
RELATION_NUMBERS = ("p_value", "fwer", "function_db", "distance", "seconds")
RELATION_TEXTS = ("candidate", "relation", "verdict")


class BadInputError(ValueError):
    """The results file does not hold what a lineage run writes."""


def _number(x: Any, where: str) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x):
        raise BadInputError(f"{where}: not a number: {str(x)[:60]!r}")
    return x


def _text(x: Any, where: str, *, none: bool = False) -> str | None:
    if x is None and none:
        return None
    if not isinstance(x, str) or len(x) > 2000:
        raise BadInputError(f"{where}: not a string: {str(x)[:60]!r}")
    return x


def _texts(x: Any, where: str) -> list[str]:
    if x is None:
        return []
    if not isinstance(x, list):
        raise BadInputError(f"{where}: not a list")
    return [str(_text(s, where)) for s in x]


def _relation(x: Any, where: str) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise BadInputError(f"{where}: a relation is not an object")
    out: dict[str, Any] = {k: _text(x.get(k), f"{where}.{k}") for k in RELATION_TEXTS}
    out |= {k: _number(x.get(k), f"{where}.{k}") for k in RELATION_NUMBERS}
    out["direction_evidence"] = _texts(x.get("direction_evidence"), f"{where}.direction_evidence")
    out["edits"] = _texts(x.get("edits"), f"{where}.edits")
    return out


def answer_of(row: dict[str, Any], where: str) -> dict[str, Any]:
    """The per-query file of one committed row, as ``run_queries`` writes it: the answer *as run*
    (``answer_as_run``; a report re-chooses ``answer``), its confirmations, timings and nearest sketches."""
    if "error" in row:
        return {"error": _text(row["error"], f"{where}.error")}
    rels = row.get("relations")
    if not isinstance(rels, list):
        raise BadInputError(f"{where}: no relations list")
    top = row.get("top_candidates") or []
    n_confirmed, group_size = row.get("n_confirmed"), row.get("group_size")
    for k, v in (("n_confirmed", n_confirmed), ("group_size", group_size)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise BadInputError(f"{where}.{k}: not an integer")
    return {"answer": _text(row.get("answer_as_run", row.get("answer")), f"{where}.answer"),
            "match": _text(row.get("match_as_run", row.get("match")), f"{where}.match", none=True),
            "text": _text(row.get("text"), f"{where}.text", none=True),
            **{k: _number(row.get(k), f"{where}.{k}") for k in NUMBERS},
            "group_size": group_size, "top_candidates": _texts(top, f"{where}.top_candidates"),
            "n_confirmed": n_confirmed,
            "relations": [_relation(x, f"{where}.relations[{i}]") for i, x in enumerate(rels)]}


def seed(results: Path, qdir: Path, pop: dict[str, Any]) -> dict[str, Any]:
    """Write ``results``' rows (a ``bench/lineage.py`` results file) into ``qdir`` for the models of ``pop``
    (``build_population(..., build=False)``); returns the counts (written, kept, not run, not in the
    population) and ``missing``: the population's queries with no row."""
    from srprint.zoo.entry import ZooEntry

    try:
        data = json.loads(results.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{results}: not readable as JSON ({type(exc).__name__})") from exc
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise BadInputError(f"{results}: no list of rows")
    counts: dict[str, Any] = {"written": 0, "kept": 0, "not_run": 0, "rows": len(rows)}
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, str, dict[str, Any]]] = []  # every row is checked before anything is written
    for i, row in enumerate(rows):
        where = f"rows[{i}]"
        if not isinstance(row, dict):
            raise BadInputError(f"{where}: not an object")
        kind, name = row.get("kind"), row.get("name")
        if kind not in KINDS or not isinstance(name, str) or not ITEM_NAME.fullmatch(name):
            raise BadInputError(f"{where}: kind {str(kind)[:30]!r} / name {str(name)[:60]!r} is not an item name")
        item = pop[KINDS[kind]].get(name)
        if item is None:
            raise BadInputError(f"{where}: {kind} {name} is not in the population made on this machine")
        if (kind, name) in seen:
            raise BadInputError(f"{where}: {kind} {name} appears twice")
        seen.add((kind, name))
        if "not_run" in row:
            counts["not_run"] += 1
            continue
        path = item["path"] if isinstance(item, dict) else item  # the population's path, not the row's
        me = ZooEntry.load(path).id
        if row.get("id") != me:
            raise BadInputError(f"{where}: id {str(row.get('id'))[:60]!r} is not {kind} {name}'s ({me})")
        todo.append((f"{kind}-{name}", me, answer_of(row, where)))
    qdir.mkdir(parents=True, exist_ok=True)
    for stem, me, answer in todo:
        for target, value, is_answer in ((qdir / f"{stem}.id.json", me, False), (qdir / f"{stem}.json", answer, True)):
            if target.is_file():
                counts["kept"] += is_answer
                continue
            tmp = qdir / f".{target.name}.seed-tmp"
            tmp.write_text(json.dumps(value))
            tmp.replace(target)
            counts["written"] += is_answer
    counts["missing"] = [f"{k} {n}" for k, sec in KINDS.items() for n in pop[sec] if (k, n) not in seen]
    return counts


def main(argv: list[str] | None = None) -> int:
    from lineage import ROOTS, build_population
    from srprint.config import srprint_home

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=RESULTS / "lineage.json", help="a bench/lineage.py results file")
    ap.add_argument("--queries", default="queries-v7", help="the answers folder to write (queries-<name>)")
    ap.add_argument("--roots", type=int, default=len(ROOTS))
    args = ap.parse_args(argv)
    if not QUERIES_NAME.fullmatch(args.queries):
        print(f"--queries {args.queries[:60]!r}: expected queries-<letters, digits, . _ ->", file=sys.stderr)
        return 2
    state = srprint_home() / "bench" / "lineage"
    pop = build_population(state, args.roots, build=False)
    try:
        counts = seed(args.results, state / args.queries, pop)
    except BadInputError as exc:
        print(f"lineage_seed_queries: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(counts, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
