"""Dev check (issue 28): fine-tunes of one root drift together; the parent choice on the drift-removed weights.

v9's scored x4 population missed the parent of 20 derived models; in the tiny families (FSRCNN, ESPCN, LapSRN) the
root was the family member *farthest* in weights from its fine-tunes. Every fine-tune of ``bench/lineage.py``'s
recipe starts a fresh Adam from its parent, whose first steps move each weight by about the learning rate in the
sign of a gradient that barely depends on the photos: the fine-tunes of one root share a direction (cosine 0.6-0.8
between two of them in the tiny x2 families below, about 0.05 in IMDN and RLFN), so a fine-tune of a fine-tune lies
*beyond* its parent on a line, and a sibling at 3x the learning rate looks like a grandchild.

This script scores, on published **x2** families (no scored query holds them; the recipe of ``bench/lineage.py``,
made once under ``$SRPRINT_HOME/bench/lineage/dev``), the parent choice of ``srprint.lineage.relate.choose`` with
every relative confirmed (as ``bench/lineage_dev.py`` does) under two weight distances:

* *weights*: the Euclidean distance (v9);
* *drift removed*: the same after removing, from every difference, its component along the family's first principal
  axis (``srprint.lineage.drift.drift_removed``), when the family has a drift (its most obtuse angle at least
  114 degrees, ``DRIFT_COS``; else the plain distance);
* *drift removed and oriented (the query)*: also every relation oriented along that axis, the earlier the parent
  (``srprint.lineage.drift.along_drift``, what ``srprint lineage query`` does since this check).

In every variant the relations are first oriented by the anchor rule on the plain weight distance, as a lookup does.
The drift test (``DRIFT_COS``, chosen on these families and their member subsets: the subsets table) and the
axis's orientation (held-out quality rises along it) were set on these families, which is why they are dev: the
scored x4 population is the check. A derived model is right when its answer names its parent
(either direction); *direction* counts those whose answer also says the suspect derives from it.

Writes ``bench/results/lineage_dev_drift.{json,md}``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402
from _lineage_report import counts, wilson  # noqa: E402
from lineage_dev import DEV_ROOTS, _relations, answer_row, family_data  # noqa: E402

# the first three are lineage_dev.py's; the others added for this check (the tiny ones where the drift shows)
DRIFT_ROOTS = (*DEV_ROOTS, "fsrcnn_opencv_x2", "espcn_opencv_x2", "fsrcnn-small_opencv_x2", "lapsrn_opencv_x2",
               "imdn-rtc_official_x2", "imdn-rte_official_x2", "srgan_leftthomas_x2")


def score(fam: dict[str, Any], distance_of: Any, plain: Any, *, drift: bool = False) -> list[dict[str, Any]]:
    """Every member's answer as a lookup gives it: its relations oriented by the anchor rule on the plain weight
    distance (``srprint.lineage.orient.by_anchor``), then chosen on ``distance_of(me)``; with ``drift``, as
    ``srprint lineage query`` does since this check: oriented along the drift and chosen on the drift-removed
    distance (``srprint.lineage.drift.along_drift``)."""
    from dataclasses import replace

    from srprint.lineage.drift import along_drift
    from srprint.lineage.orient import by_anchor
    from srprint.lineage.relate import SUSPECT, choose

    def as_seen(dist: Any, me: str) -> Any:
        def distance(a: str, b: str) -> float | None:
            a, b = (me if x == SUSPECT else x for x in (a, b))
            return dist(a, b)
        return distance

    rows = []
    for me in fam["members"]:
        rels = [replace(r, record={"stats": fam["members"][r.candidate]["stats"]}) for r in _relations(fam, me)]
        rels = by_anchor(rels, fam["members"][me]["stats"], as_seen(plain, me))
        chosen_on, found = as_seen(distance_of(me), me), {}
        if drift:
            rels, chosen_on, found = along_drift(rels, fam["members"][me]["stats"], as_seen(plain, me))
        rows.append(answer_row(me, choose(rels, distance=chosen_on, positions=found.get("oriented"))))
    return rows


def subsets(plain: Any, roles: list[str], states: dict[str, Any]) -> dict[str, Any]:
    """How often each drift test fires on the family's subsets of 4 and 5 members (a lookup's family is the
    suspect and the relatives it confirmed), and the cosine of ft1's and sib's changes from the root."""
    from itertools import combinations

    import torch

    from srprint.lineage.drift import DRIFT_COS, drift_removed

    out: dict[str, Any] = {}
    for n in (4, 5):
        infos = [drift_removed(plain, list(sub))[1] for sub in combinations(roles, n)]
        out[f"angle_{n}"] = [sum(i["obtuse_cos"] <= DRIFT_COS for i in infos), len(infos)]
        out[f"share_{n}"] = [sum(i["share"] >= 0.65 for i in infos), len(infos)]

    def change(role: str) -> Any:
        return torch.cat([(states[role][k].double() - states["root"][k].double()).flatten()
                          for k in sorted(states["root"]) if states["root"][k].is_floating_point()])

    a, b = change("ft1"), change("sib")
    out["cos_ft1_sib"] = round(float(a @ b / (a.norm() * b.norm())), 3)
    return out


def plain_distance(states: dict[str, Any]) -> Any:
    """The memoised Euclidean weight distance between family members (``states``: their weights by role)."""
    from srprint.lineage.relate import weight_distance

    memo: dict[frozenset[str], float | None] = {}

    def plain(a: str, b: str) -> float | None:
        k = frozenset((a, b))
        if k not in memo:
            memo[k] = weight_distance(states[a], states[b])
        return memo[k]

    return plain


def main() -> int:
    from srprint.config import srprint_home
    from srprint.io.checkpoints import load_weights
    from srprint.lineage.drift import drift_removed
    from srprint.zoo.entry import ZooEntry

    state = srprint_home() / "bench" / "lineage" / "dev"
    state.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"roots": list(DRIFT_ROOTS), "families": {}, "scores": {}}
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {"weights": {}, "drift removed": {},
                                                        "drift removed and oriented (the query)": {}}
    for rid in DRIFT_ROOTS:
        fam = family_data(state, rid)
        states = {role: load_weights(ZooEntry.load(p).weights_path) for role, p in fam["paths"].items()}
        plain = plain_distance(states)

        # a query holds the suspect and its confirmed relatives: here every member of the family
        drift, info = drift_removed(plain, list(states))
        rows["weights"][rid] = score(fam, lambda me, plain=plain: plain, plain)
        rows["drift removed"][rid] = score(fam, lambda me, drift=drift: drift, plain)
        rows["drift removed and oriented (the query)"][rid] = score(fam, lambda me, plain=plain: plain, plain,
                                                                    drift=True)
        res["families"][rid] = {"drift": info, "subsets": subsets(plain, list(states), states)}
        print(rid, info, flush=True)
    for key, by in rows.items():
        flat = [r for rs in by.values() for r in rs]
        der = [r for r in flat if r["model"] != "root"]
        linked = [r for r in flat if r["linked"]]
        res["scores"][key] = {"parent_right": wilson(sum(r["parent_right"] for r in der), len(der)),
                              "direction": wilson(sum(r["direction_right"] for r in linked), len(linked)),
                              "rows": by}

    f = counts
    lines = ["# Lineage query: the parent choice on drift-removed weights (issue 28, dev)", "",
             f"Families: {', '.join(DRIFT_ROOTS)} (published x2 roots, bench/lineage.py's recipe; no scored query "
             "holds them). Every relative counted as confirmed (*copy*), the direction rules on each member's "
             "stored statistics: this scores the choice alone. 95 % Wilson intervals.", "",
             "| distance | parent right (derived models) | direction of right links |", "|---|---|---|"]
    lines += [f"| {k} | {f(s['parent_right'])} | {f(s['direction'])} |" for k, s in res["scores"].items()]
    keys = list(rows)
    lines += ["", "| family | most obtuse angle (cosine) | first axis share of variance | drift found | " + " | ".join(
        f"parent right: {k}" for k in keys) + " |", "|---|---|---|---|" + "---|" * len(keys)]
    for rid in DRIFT_ROOTS:
        info = res["families"][rid]["drift"]
        n = [sum(bool(r["parent_right"]) for r in res["scores"][k]["rows"][rid]) for k in keys]
        found = "yes" if info["removed"] else "no"
        lines.append(f"| {rid} | {info['obtuse_cos']:.2f} | {info['share']:.2f} | {found} | "
                     + " | ".join(f"{x}/5" for x in n) + " |")
    lines += ["", "Subsets: how often each test calls a drift on the family's subsets of 4 and 5 members (the first "
              "axis's share >= 0.65, tried first; the most obtuse angle's cosine <= -0.4, used). *cos(ft1, sib)*: "
              "the cosine of two fine-tunes' changes from the root (known here, not to a lookup).", "",
              "| family | cos(ft1, sib) | share, 4 | share, 5 | angle, 4 | angle, 5 |", "|---|---|---|---|---|---|"]
    for rid in DRIFT_ROOTS:
        sub = res["families"][rid]["subsets"]
        lines.append(f"| {rid} | {sub['cos_ft1_sib']:.2f} | " + " | ".join(
            f"{sub[k][0]}/{sub[k][1]}" for k in ("share_4", "share_5", "angle_4", "angle_5")) + " |")
    lines += ["", "| family | model | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for rid in DRIFT_ROOTS:
        for i, a in enumerate(res["scores"]["weights"]["rows"][rid]):
            lines.append(f"| {rid} | {a['model']} | " + " | ".join(
                f"{res['scores'][k]['rows'][rid][i]['answer']} {res['scores'][k]['rows'][rid][i]['match']}"
                for k in keys) + " |")
    write_results("lineage_dev_drift", res, "\n".join(lines) + "\n")
    print("\n".join(lines[:10]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
