"""Out-of-design check (issue 28): the lineage lookup on fine-tunes of a recipe its rules were not set on.

Every rule of the lookup's parent choice (the sibling rule, the anchor rule, the drift steps of
``srprint.lineage.drift``: the drift test ``DRIFT_COS``, the path and graph rules) was set or checked on fine-tunes
of one recipe, ``bench/lineage.py``'s ``FT``: 100 Adam steps at lr 1e-4, batch 4, 32-px crops. The drift those rules
undo comes from that recipe (a fresh Adam's first steps move every weight by about the learning rate, in the sign of
a gradient that barely depends on the photos), and a community fine-tune runs far longer. This script rebuilds the
ten x2 dev families of ``bench/lineage_dev_drift.py`` (published x2 roots; no scored query holds them) with another
recipe (:data:`RECIPES`; each member keeps its ``DERIVED`` seed, photo set and, for ``sib2``, its 3x learning rate),
and scores, with **no rule changed and nothing chosen on these rows**:

* the parent choice with every relative confirmed (``lineage_dev_drift.score``): the plain weight distance, and
  the drift steps (removed and oriented, what a lookup does);
* real lookups on an index of the recipe's 60 models (no stored graph), each derived model left out of the index,
  with and without the drift steps (``lineage_dev_queries.lookups``).

Everything is cached under ``$SRPRINT_HOME/bench/lineage/dev/recipe-NAME`` (a rerun skips what is made). Writes
``bench/results/lineage_dev_recipe_NAME.{json,md}``.
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
from _lineage_report import counts, wilson  # noqa: E402
from lineage import FT  # noqa: E402
from lineage_dev import family_data  # noqa: E402
from lineage_dev_drift import DRIFT_ROOTS, plain_distance, score, subsets  # noqa: E402
from lineage_dev_queries import ARMS, lookup_rows, lookups  # noqa: E402

# fine-tuning recipes the rules were not set on (the benchmark's FT is 100 Adam steps at lr 1e-4, batch 4, 32 px)
RECIPES: dict[str, dict[str, Any]] = {
    "long": {"iters": 2000, "lr": 1e-4},  # 20x the steps: where the first steps' shared drift may fade
}


def _all_confirmed(state: Path, ft: dict[str, Any]) -> dict[str, Any]:
    """Per family: the drift found, the cosine of two fine-tunes' changes, and every member's answer with every
    relative confirmed, on the plain weight distance and with the drift steps."""
    from srprint.io.checkpoints import load_weights
    from srprint.lineage.drift import drift_removed
    from srprint.zoo.entry import ZooEntry

    out: dict[str, Any] = {"families": {}, "rows": {"weights": {}, "drift (the query)": {}}, "psnr_change": {}}
    for rid in DRIFT_ROOTS:
        t = time.perf_counter()
        fam = family_data(state, rid, ft=ft)
        entries = {role: ZooEntry.load(p) for role, p in fam["paths"].items()}
        states = {role: load_weights(e.weights_path) for role, e in entries.items()}
        plain = plain_distance(states)
        info = drift_removed(plain, list(states))[1]
        out["rows"]["weights"][rid] = score(fam, lambda me, plain=plain: plain, plain)
        out["rows"]["drift (the query)"][rid] = score(fam, lambda me, plain=plain: plain, plain, drift=True)
        out["families"][rid] = {"drift": info, "subsets": subsets(plain, list(states), states)}
        out["psnr_change"][rid] = {role: (e.metrics or {}).get("psnr_change") for role, e in entries.items()
                                   if role != "root"}
        print(f"{rid}: drift {info['removed']} (cos {info['obtuse_cos']:.2f}) {time.perf_counter() - t:.0f} s",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    from srprint.config import srprint_home
    from srprint.lineage.build import index_models

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipe", choices=sorted(RECIPES), required=True)
    args = ap.parse_args(argv)
    ft = {**FT, **RECIPES[args.recipe]}
    state = srprint_home() / "bench" / "lineage" / "dev" / f"recipe-{args.recipe}"
    state.mkdir(parents=True, exist_ok=True)

    res: dict[str, Any] = {"recipe": ft, "benchmark_recipe": FT, "roots": list(DRIFT_ROOTS)}
    conf = _all_confirmed(state, ft)
    res |= {"families": conf["families"], "psnr_change": conf["psnr_change"], "all_confirmed": {}}
    for key, by in conf["rows"].items():
        der = [r for rs in by.values() for r in rs if r["model"] != "root"]
        linked = [r for rs in by.values() for r in rs if r["linked"]]
        res["all_confirmed"][key] = {"parent_right": wilson(sum(r["parent_right"] for r in der), len(der)),
                                     "direction": wilson(sum(r["direction_right"] for r in linked), len(linked)),
                                     "rows": by}

    paths = {rid: family_data(state, rid, ft=ft)["paths"] for rid in DRIFT_ROOTS}
    ids = {rid: {role: (f"{rid}-pretrained" if role == "root" else f"{rid}-{role}") for role in p}
           for rid, p in paths.items()}
    index = state / "index"
    if not (index / "records.sqlite").is_file():
        index_models([Path(p) for f in paths.values() for p in f.values()], index)
    derived = {ids[rid][role]: p for rid, f in paths.items() for role, p in f.items() if role != "root"}
    res["lookups"] = {}
    for arm in ARMS:
        rows = lookup_rows(lookups(state, index, derived, arm), ids)
        res["lookups"][arm] = {k: wilson(sum(r[k] for r in rows), len(rows))
                               for k in ("right", "direction", "parent_confirmed")} | {"rows": rows}
    write_results(f"lineage_dev_recipe_{args.recipe}", res, markdown(res, args.recipe))
    return 0


def _benchmark_recipe_rows() -> str:
    """The dev families' scores on the benchmark's own recipe, read from their committed results ('' if absent)."""
    import json

    from _common import RESULTS

    try:
        drift = json.loads((RESULTS / "lineage_dev_drift.json").read_text())["scores"]
        queries = json.loads((RESULTS / "lineage_dev_queries.json").read_text())["arms"]
    except (OSError, KeyError, ValueError):
        return ""
    return (f"every relative confirmed, weights {counts(drift['weights']['parent_right'])}, drift (the query) "
            f"{counts(drift['drift removed and oriented (the query)']['parent_right'])}; real lookups without the "
            f"drift steps {counts(queries['without']['right'])}, with them {counts(queries['with']['right'])}.")


def markdown(res: dict[str, Any], name: str) -> str:
    f = counts
    ft, base = res["recipe"], res["benchmark_recipe"]
    changes = [v for fam in res["psnr_change"].values() for v in fam.values() if v is not None]
    lines = [f"# Lineage lookups on another fine-tuning recipe: {name} (issue 28, out-of-design check)", "",
             f"Recipe: {ft['iters']} Adam steps at lr {ft['lr']:g}, batch {ft.get('batch', 4)}, "
             f"{ft.get('patch', 32)}-px "
             f"crops (the rules were set on {base['iters']} steps at lr {base['lr']:g}, batch 4, 32 px); each member "
             "keeps its seed, photo set and (sib2) 3x learning rate. Families: " + ", ".join(res["roots"]) +
             " (published x2 roots; no scored query holds them). No rule was changed or chosen on these rows. "
             "Held-out PSNR change of the fine-tunes: "
             + (f"{min(changes):+.2f} .. {max(changes):+.2f} dB (median {sorted(changes)[len(changes) // 2]:+.2f})."
                if changes else "not recorded."), "", "## Every relative confirmed (the choice alone)", "",
             "| distance | parent right (derived models) | direction of right links |", "|---|---|---|"]
    lines += [f"| {k} | {f(s['parent_right'])} | {f(s['direction'])} |" for k, s in res["all_confirmed"].items()]
    lines += ["", "## Real lookups (index of the recipe's 60 models, no stored graph)", "",
              "| lookup | parent named | parent named as its parent (direction) | parent confirmed |",
              "|---|---|---|---|"]
    lines += [f"| {arm} the drift steps | {f(s['right'])} | {f(s['direction'])} | {f(s['parent_confirmed'])} |"
              for arm, s in res["lookups"].items()]
    base_rows = _benchmark_recipe_rows()
    if base_rows:
        lines += ["", "The same families on the benchmark's recipe, before this check (`lineage_dev_drift.md`, "
                  "`lineage_dev_queries.md`): " + base_rows]
    lines += ["", "## Families", "", "| family | drift found (all members) | most obtuse cosine | cos(ft1, sib) | "
              "drift fires on 5-subsets | parent right, all confirmed: weights / drift | lookups: without / with |",
              "|---|---|---|---|---|---|---|"]
    for rid in res["roots"]:
        info, sub = res["families"][rid]["drift"], res["families"][rid]["subsets"]
        ac = [sum(bool(r["parent_right"]) for r in res["all_confirmed"][k]["rows"][rid]) for k in res["all_confirmed"]]
        lk = [sum(r["right"] for r in res["lookups"][arm]["rows"] if r["family"] == rid) for arm in res["lookups"]]
        lines.append(f"| {rid} | {'yes' if info['removed'] else 'no'} | {info['obtuse_cos']:.2f} | "
                     f"{sub['cos_ft1_sib']:.2f} | {sub['angle_5'][0]}/{sub['angle_5'][1]} | {ac[0]}/5 / {ac[1]}/5 | "
                     f"{lk[0]}/5 / {lk[1]}/5 |")
    lines += ["", "| family | model | lookup without | lookup with | drift found |", "|---|---|---|---|---|"]
    for a, b in zip(res["lookups"]["without"]["rows"], res["lookups"]["with"]["rows"], strict=True):
        lines.append(f"| {a['family']} | {a['model']} | {a['answer']} {a['match']} | {b['answer']} {b['match']} | "
                     f"{'yes' if b['drift'] else 'no'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
