"""Dev population of the lineage benchmark (issue 28): the families the parent-vs-sibling rule is set on.

``bench/lineage.py`` scores x4 models only (its index holds the ``sr-x4`` group). The dev families here are
built from published **x2** checkpoints (:data:`DEV_ROOTS`), which no scored query, index or answer of the
benchmark contains, with the benchmark's own recipe (``bench/lineage.py``'s ``FT`` and ``DERIVED``: a root,
``ft1`` and ``sib`` and ``sib2`` fine-tuned from it, ``ft2`` from ``ft1``, ``sibft`` from ``sib``).

For every family it records, cached under ``$SRPRINT_HOME/bench/lineage/dev/`` (a rerun skips what is made):

* each model's index statistics (:func:`srprint.lineage.query.suspect_profile`: weight and held-out
  statistics, the direction rules' input);
* two distances of every pair of the family: the lineage statistic's ``1 - S`` (the verdict's own
  statistic, :func:`srprint.verification.alignment.compare_aligned`, without its null) and the weights'
  Euclidean distance (:func:`srprint.lineage.relate.weight_distance`);

then scores the parent choice of every derived model with all its family as confirmed *copy* relatives
(the best case of a query: every relative found), without the sibling rule and with it on either
distance (:func:`srprint.lineage.relate.choose`'s ``distance``). The lineage statistic was tried first and
is kept as a record: the rule on it changed nothing (3/15 either way), and its distances are not additive
along the family tree (alignment noise at this scale), while the weights' are.
Writes ``bench/results/lineage_dev.{json,md}``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402
from lineage import DERIVED, FT, _cached  # noqa: E402

DEV_ROOTS = ("imdn_official_x2", "rlfn_official_x2", "rlfn-s_official_x2")


def build_family(state: Path, rid: str, *, ft: dict[str, Any] | None = None) -> dict[str, str]:
    """The root's entry folder and its five fine-tunes (made once), by role; ``ft``: the fine-tuning recipe's
    parameters (default the benchmark's ``FT``; each member's own ``DERIVED`` parameters override them)."""
    from srprint.verification.attacks import attack_model
    from srprint.zoo.entry import ZooEntry
    from srprint.zoo.study import pretrained_zoo_dir

    root = ZooEntry.load(pretrained_zoo_dir() / f"{rid}-pretrained")
    made, paths = {"root": root}, {"root": str(root.path)}
    for name, (parent, params) in DERIVED.items():
        out = state / "derived" / f"{rid}-{name}"
        if (out / "model.json").is_file():
            e = ZooEntry.load(out)
        else:
            t = time.perf_counter()
            e = attack_model(made[parent], "finetune", out, params={**(ft or FT), **params})
            print(f"made {rid}-{name} in {time.perf_counter() - t:.1f} s", flush=True)
        if e.id != f"{rid}-{name}":
            e.id = f"{rid}-{name}"
            e.save(out)
            e = ZooEntry.load(out)
        made[name], paths[name] = e, str(e.path)
    return paths


def family_data(state: Path, rid: str, *, ft: dict[str, Any] | None = None) -> dict[str, Any]:
    """Statistics of every member and the lineage distance of every pair (cached per family; ``ft`` as in
    :func:`build_family`)."""
    from srprint.lineage.query import suspect_profile
    from srprint.verification.fingerprint import load_entry_model
    from srprint.zoo.entry import ZooEntry

    paths = build_family(state, rid, ft=ft)

    def run() -> dict[str, Any]:
        entries = {role: ZooEntry.load(p) for role, p in paths.items()}
        stats = {}
        for role, e in entries.items():
            prof = suspect_profile(e)
            stats[role] = {"id": e.id, "stats": {k: v for k, v in prof["stats"].items() if k != "layers"}
                           | {"layers": prof["stats"].get("layers")}, "meta": prof["meta"]}
        t = time.perf_counter()
        roles = list(entries)
        dist = lineage_distances([load_entry_model(entries[r]) for r in roles])
        return {"paths": paths, "members": stats, "distance_s": round(time.perf_counter() - t, 2),
                "distances": {f"{roles[i]}|{roles[j]}": d for (i, j), d in dist.items()}}

    fam = _cached(state / f"family-{rid}.json", run)
    fam["weight_distances"] = weight_pairs(paths)
    return fam


def lineage_distances(models: list[Any]) -> dict[tuple[int, int], float]:
    """The lineage statistic's ``1 - S`` of every pair ``(i, j)``, ``i < j``, of ``models`` (networks)."""
    from srprint.verification import lineage as lin
    from srprint.verification.alignment import compare_aligned

    caps = [lin.capture_model(m) for m in models]
    out = {}
    for i in range(len(caps)):
        for j in range(i + 1, len(caps)):
            res = compare_aligned(caps[i], caps[j])
            if res.coverage >= lin.MIN_COVERAGE:
                out[(i, j)] = 1.0 - float(res.similarity)
    return out


def weight_pairs(paths: dict[str, str]) -> dict[str, float | None]:
    """:func:`srprint.lineage.relate.weight_distance` of every pair of the family, by roles."""
    from srprint.io.checkpoints import load_weights
    from srprint.lineage.relate import weight_distance
    from srprint.zoo.entry import ZooEntry

    st = {role: load_weights(ZooEntry.load(p).weights_path) for role, p in paths.items()}
    roles = list(paths)
    return {f"{a}|{b}": weight_distance(st[a], st[b]) for i, a in enumerate(roles) for b in roles[i + 1:]}


def _relations(fam: dict[str, Any], me: str) -> list[Any]:
    """``me``'s relations to the rest of its family as a query would hold them with every relative
    confirmed as *copy*: the direction rules on the stored statistics, the lineage distance."""
    from srprint.lineage.relate import Relation, direction

    mem, dist = fam["members"], fam["distances"]
    out = []
    for role, m in mem.items():
        if role == me:
            continue
        side, ev = direction(mem[me]["stats"], m["stats"], sus_meta=mem[me]["meta"], cand_meta=m["meta"])
        rel = {1: "derived", -1: "parent", 0: "derived (direction unknown)"}[side]
        d = dist.get(f"{me}|{role}", dist.get(f"{role}|{me}"))
        out.append(Relation(role, rel, "copy", 1e-4, 40.0, 0.0, [], ev, distance=d))
    return out


PARENT = {name: parent for name, (parent, _) in DERIVED.items()}
CHILDREN = [name for name, parent in PARENT.items() if parent == "root"]


def score_family(fam: dict[str, Any], *, rule: str | None) -> list[dict[str, Any]]:
    """Every member's answer without the sibling rule (``rule`` None) or with it on the distances
    ``fam[rule]``, and whether it is right."""
    from srprint.lineage.relate import SUSPECT, choose

    dist = fam.get(rule or "", {})

    rows = []
    for me in fam["members"]:
        def distance(a: str, b: str, me: str = me) -> float | None:
            a, b = (me if x == SUSPECT else x for x in (a, b))
            return dist.get(f"{a}|{b}", dist.get(f"{b}|{a}"))

        rows.append(answer_row(me, choose(_relations(fam, me), distance=distance if rule else None)))
    return rows


def answers_table(scores: dict[str, Any], families: list[str], keys: list[str], *, rows_of: str,
                  heldout_db: Any = None) -> list[str]:
    """Markdown table of every family member's answer under each scoring ``keys`` (the members in the order of
    ``scores[rows_of]``); ``heldout_db(family, model)``, when given, adds the member's held-out quality."""
    extra = ("held-out dB | ", "---|") if heldout_db else ("", "")
    lines = ["| family | model | " + extra[0] + " | ".join(keys) + " |", "|---|---|" + extra[1] + "---|" * len(keys)]
    for rid in families:
        for i, a in enumerate(scores[rows_of]["rows"][rid]):
            cells = [f"{scores[k]['rows'][rid][i]['answer']} {scores[k]['rows'][rid][i]['match']}" for k in keys]
            db = f"{heldout_db(rid, a['model'])} | " if heldout_db else ""
            lines.append(f"| {rid} | {a['model']} | {db}" + " | ".join(cells) + " |")
    return lines


def answer_row(me: str, best: Any) -> dict[str, Any]:
    """The scored answer of family member ``me`` whose chosen relation is ``best`` (``None``: *unknown*): a root
    is right when it names one of its children as its child, a derived model when it names its parent."""
    ans, match = (best.relation, best.candidate) if best else ("unknown", None)
    if me == "root":
        linked = match in CHILDREN
        return {"model": me, "answer": ans, "match": match, "parent_right": None, "linked": linked,
                "direction_right": linked and ans == "parent"}
    right = match == PARENT[me]
    return {"model": me, "answer": ans, "match": match, "parent_right": right, "linked": right,
            "direction_right": right and ans == "derived"}


def main() -> int:
    from _lineage_report import wilson
    from srprint.config import srprint_home

    state = srprint_home() / "bench" / "lineage" / "dev"
    state.mkdir(parents=True, exist_ok=True)
    fams = {rid: family_data(state, rid) for rid in DEV_ROOTS}
    recipe = {"ft": FT, "derived": {k: list(v) for k, v in DERIVED.items()}}
    res: dict[str, Any] = {"roots": list(DEV_ROOTS), "recipe": recipe, "families": {}, "scores": {}}
    for key, rule in (("without", None), ("sibling rule, lineage statistic 1 - S", "distances"),
                      ("sibling rule, weight distance", "weight_distances")):
        rows = {rid: score_family(f, rule=rule) for rid, f in fams.items()}
        flat = [r for rs in rows.values() for r in rs]
        der = [r for r in flat if r["model"] != "root"]
        linked = [r for r in flat if r["linked"]]
        res["scores"][key] = {
            "parent_right": wilson(sum(r["parent_right"] for r in der), len(der)),
            "roots_name_a_child": wilson(sum(r["linked"] for r in flat if r["model"] == "root"), len(fams)),
            "direction": wilson(sum(r["direction_right"] for r in linked), len(linked)),
            "rows": rows}
    for rid, f in fams.items():
        res["families"][rid] = {"distances": f["distances"], "distance_s": f["distance_s"],
                                "weight_distances": f["weight_distances"],
                                "heldout_db": {k: m["stats"].get("heldout_db") for k, m in f["members"].items()}}
    lines = ["# Lineage benchmark: dev families of the sibling rule", "",
             "Published **x2** roots (no x2 model is in `bench/lineage.py`'s scored x4 population), each with the "
             f"benchmark's recipe (fine-tunes of {FT['iters']} iterations): ft1, sib, sib2 from the root; "
             "ft2 from ft1; "
             "sibft from sib. Every relative counted as confirmed (*copy*): this scores the choice alone.", "",
             "| rule | parent right (derived) | roots naming a child | direction of right links |", "|---|---|---|---|"]
    for key, s in res["scores"].items():
        def f(w: dict[str, Any]) -> str:
            ci = w["ci95"] or [0, 0]
            return f"{w['k']}/{w['n']} ({100 * ci[0]:.1f}-{100 * ci[1]:.1f} %)"
        lines.append(f"| {key} | {f(s['parent_right'])} | {f(s['roots_name_a_child'])} | {f(s['direction'])} |")
    lines += ["", *answers_table(res["scores"], list(fams), list(res["scores"]), rows_of="without")]
    write_results("lineage_dev", res, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
