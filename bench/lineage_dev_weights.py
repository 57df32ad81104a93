"""Dev check (issue 28) of the lineage query's weight-nearest candidates, on families no scored query holds.

v9's query confirms, after its nearest sketch, the 3 indexed models of the suspect's kernel layout nearest to it
in weights (``srprint.lineage.query.nearest_in_weights``). That order was chosen post hoc, on a diagnostic of
``bench/lineage.py``'s scored x4 population (the true parent among the 3 nearest in weights for 67/75 derived
models, among the 3 nearest sketches for 38/75). This script checks it on the x2 dev families of
``bench/lineage_dev.py`` (published x2 roots, the benchmark's own fine-tuning recipe, made once under
``$SRPRINT_HOME/bench/lineage/dev``): for every derived model, is its true parent among the 3 members of its
family nearest in weights (its layout is its family's), and is it the nearest? Writes
``bench/results/lineage_dev_weights.{json,md}``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402
from _lineage_report import wilson  # noqa: E402
from lineage import DERIVED  # noqa: E402
from lineage_dev import DEV_ROOTS, build_family, weight_pairs  # noqa: E402


def score(families: dict[str, dict[str, str]]) -> dict[str, Any]:
    rows = []
    for rid, paths in families.items():
        dist = weight_pairs(paths)

        def d(a: str, b: str, dist: dict[str, Any] = dist) -> float:
            return dist.get(f"{a}|{b}", dist.get(f"{b}|{a}"))

        for name, (parent, _) in DERIVED.items():
            order = sorted((r for r in paths if r != name), key=lambda r: (d(name, r), r))
            rows.append({"family": rid, "model": name, "parent": parent, "nearest3": order[:3],
                         "in3": parent in order[:3], "nearest": order[0] == parent})
    return {"rows": rows, **{key: wilson(sum(r[key] for r in rows), len(rows)) for key in ("in3", "nearest")}}


def main() -> None:
    from srprint.config import srprint_home

    state = srprint_home() / "bench" / "lineage" / "dev"
    state.mkdir(parents=True, exist_ok=True)
    families = {rid: build_family(state, rid) for rid in DEV_ROOTS}
    s = score(families)
    pct = {k: f"{s[k]['k']}/{s[k]['n']} ({100 * s[k]['ci95'][0]:.1f}-{100 * s[k]['ci95'][1]:.1f} %)"
           for k in ("in3", "nearest")}
    md = ["# Lineage query: the weight-nearest candidates on the x2 dev families (issue 28, dev)", "",
          f"Families: {', '.join(DEV_ROOTS)} (published x2 roots, bench/lineage.py's recipe; no scored query holds "
          "them). For each of the derived models (ft1, ft2, sib, sib2, sibft): the 3 other members of its family "
          "nearest in weights (Euclidean distance of the float tensors; its layout is its family's). 95 % Wilson "
          "intervals.", "",
          "| measure | result |", "|---|---|",
          f"| true parent among the 3 nearest in weights | {pct['in3']} |",
          f"| true parent the nearest in weights | {pct['nearest']} |", "",
          "| family | model | parent | 3 nearest in weights |", "|---|---|---|---|"]
    md += [f"| {r['family']} | {r['model']} | {r['parent']} | {', '.join(r['nearest3'])} |" for r in s["rows"]]
    write_results("lineage_dev_weights", {"families": DEV_ROOTS, **s}, "\n".join(md) + "\n")
    print(pct)


if __name__ == "__main__":
    main()
