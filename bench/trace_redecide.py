"""Re-decide the trace bench's JPEG items that the rule of 5619905 can change (issue 27, session 6).

The rule: when two or more candidates pass a JPEG's photo null and exactly one passes its rival test (its own
outputs not ruling it out), it is named. Before, a second passer blocked the answer (*none*: the JPEG cannot
tell them apart). Only items where two or more candidates passed can change; the items files show them:

* true set: rows of JPEG method 5 with ``ambiguous`` set (the old verdict named the passers);
* open set (the true model left out): rows whose best open p is below 1e-3, not named, with no rival test
  (``open_p_rival`` None: the old rules found no single winner to test).

Each such item is traced again exactly as ``bench/trace.py`` traced it (same photo, crop, model, settings,
candidates, one thread) with the current code; the row keeps the stored verdicts beside the new ones and
checks that the per-candidate statistics are the stored ones (the search is deterministic, so only the
decision may differ). Each new row (JPEG method 6) is appended to the slice's items file, where
``bench/trace.py --name SLICE --report-only`` counts it instead of the method-5 row. Resumable: one JSON line
per item, the old verdicts beside the new, in ``bench/results/trace_redecide_items.jsonl``;
``trace_redecide.{json,md}`` are rewritten after each item, with the slices' rates as they stand when the
changed items replace the stored ones (Wilson 95 % intervals).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write_results  # noqa: E402

NAME = "trace_redecide"
ITEMS = RESULTS / f"{NAME}_items.jsonl"
# the slices of bench/trace.py that hold JPEG rows of method 5 with two or more passers, and their candidates
# (the plans in bench/results/trace.json and trace_x4.json)
SLICES = {"trace": ("espcn_opencv_x2,fsrcnn_opencv_x2,fsrcnn-small_opencv_x2,imdn-rtc_official_x2", 8),
          "trace_x4": ("espcn_opencv_x4,fsrcnn_opencv_x4,fsrcnn-small_opencv_x4", 6)}
ALPHA = 1e-3


def _bench_trace() -> Any:
    """``bench/trace.py`` as a module (its name would clash with the standard library's ``trace``)."""
    spec = importlib.util.spec_from_file_location("bench_trace", Path(__file__).parent / "trace.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def selected(rows: list[dict]) -> list[dict]:
    """The stored JPEG rows (method 5) whose verdict the rule can change (two or more passers)."""
    changeable = _bench_trace()._changeable
    return [r for r in rows if r.get("jpeg_method") == 5 and changeable(r)]


def _stored(name: str, *, method: int = 5) -> list[dict]:
    """The slice's rows of JPEG method ``method`` (and the pixel rows), the last row of an item counting."""
    rows: dict[tuple, dict] = {}
    for line in (RESULTS / f"{name}_items.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("jpeg_method", method) == method:
            rows[(r["model"], r["photo"], r["condition"])] = r
    return list(rows.values())


def summarise(done: list[dict]) -> dict[str, Any]:
    """Transitions, open-set false attributions and each slice's rates with the re-decided rows in place."""
    bt = _bench_trace()
    out: dict[str, Any] = {"items": len(done), "changed_true_set": [], "changed_open_set": [], "slices": {}}
    for d in done:
        if (d["old_verdict"], d["old_predicted"]) != (d["verdict"], d["predicted"]):
            out["changed_true_set"].append({k: d[k] for k in ("slice", "model", "photo", "condition", "old_predicted",
                                                               "predicted")})
        if (d["old_open_verdict"], d["old_open_model"]) != (d["open_verdict"], d["open_model"]):
            out["changed_open_set"].append({k: d[k] for k in ("slice", "model", "photo", "condition", "old_open_model",
                                                               "open_model")})
    out["statistics_as_stored"] = sum(d["same_statistics"] for d in done)
    out["open_false_attributions"] = sum(d["open_verdict"] == "made by" for d in done)
    new = {(d["slice"], d["model"], d["photo"], d["condition"]): d for d in done}
    for name in SLICES:
        rows = [r for r in _stored(name) if r.get("jpeg_method") == 5]
        per: dict[str, Any] = {}
        for cond in sorted({r["condition"] for r in rows}):
            rs = [new.get((name, r["model"], r["photo"], cond), r) for r in rows if r["condition"] == cond]
            right = sum(r["predicted"] == r["model"] for r in rs)
            old_right = sum(r["predicted"] == r["model"] for r in rows if r["condition"] == cond)
            wrong = sum(r["verdict"] == "made by" and r["predicted"] != r["model"] for r in rs)
            false_open = sum(r["open_verdict"] == "made by" for r in rs)
            per[cond] = {"n": len(rs), "made_by_true_old": old_right, "made_by_true": right,
                         "wilson": bt.wilson(right, len(rs)), "confident_wrong": wrong,
                         "open_false": false_open, "open_wilson": bt.wilson(false_open, len(rs))}
        out["slices"][name] = per
    return out


def markdown(s: dict[str, Any]) -> str:
    lines = ["# Trace bench: JPEG items re-decided by the rule of 5619905 (issue 27)", "",
             "Only items where two or more candidates passed the photo null can change (module docstring). "
             f"{s['items']} items re-traced with the current code; per-candidate statistics equal to the stored ones "
             f"in {s['statistics_as_stored']} of {s['items']}.", "",
             "| slice | condition | n | made by the true model, before | now [Wilson 95 %] | confident wrong | "
             "open set false [Wilson 95 %] |", "|---|---|---:|---:|---|---:|---|"]
    for name, per in s["slices"].items():
        for cond, c in per.items():
            w = c["wilson"]
            ow = c["open_wilson"]
            lines.append(f"| {name} | {cond} | {c['n']} | {c['made_by_true_old']} | {c['made_by_true']} "
                         f"[{100 * w[0]:.1f}, {100 * w[1]:.1f}] % | {c['confident_wrong']} | {c['open_false']} "
                         f"[{100 * ow[0]:.1f}, {100 * ow[1]:.1f}] % |")
    lines += ["", f"Changed in the true set: {len(s['changed_true_set'])}; in the open set: "
              f"{len(s['changed_open_set'])} (false attributions there: {s['open_false_attributions']}).", ""]
    for c in s["changed_true_set"]:
        lines.append(f"- true set: {c['slice']} {c['model']} {c['photo']} {c['condition']}: {c['old_predicted']} -> "
                     f"{c['predicted']}")
    for c in s["changed_open_set"]:
        lines.append(f"- open set: {c['slice']} {c['model']} {c['photo']} {c['condition']}: {c['old_open_model']} -> "
                     f"{c['open_model']}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--report-only", action="store_true", help="rewrite the summary from the finished items")
    a = ap.parse_args()
    done = [json.loads(x) for x in ITEMS.read_text().splitlines()] if ITEMS.is_file() else []
    if a.report_only:
        s = summarise(done)
        write_results(NAME, s, markdown(s))
        return
    import torch

    from srprint.attribution.trace import TraceSettings, candidates
    from srprint.attribution.trace_protocol import made_image
    from srprint.verification.fingerprint import load_entry_model
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir

    torch.set_num_threads(1)
    bt = _bench_trace()
    entries = [e for e in Zoo(pretrained_zoo_dir()).entries() if e.task in ("sr", "denoise") and "craft_" not in e.id]
    cache: dict[str, Any] = {}

    def load(e: Any) -> Any:
        if e.id not in cache:
            cache[e.id] = load_entry_model(e)
        return cache[e.id]

    finished = {(d["slice"], d["model"], d["photo"], d["condition"]) for d in done}
    for name, (cands_csv, n_photos) in SLICES.items():
        cands = [e for e in entries if any(p in e.id for p in cands_csv.split(","))]
        pics = dict(bt.photos(n_photos))
        for old in selected(_stored(name)):
            key = (name, old["model"], old["photo"], old["condition"])
            if key in finished:
                continue
            e = next(x for x in cands if x.id == old["model"])
            img = made_image(load(e), pics[old["photo"]], max(e.scale, 1), 96)
            t0 = time.perf_counter()
            row = bt.trace_item(e, img, old["condition"], cands, load, TraceSettings())
            assert len(candidates(cands, img.shape)) == old["n_candidates"]
            same = all(row[k] == old[k] for k in ("true_stat", "true_violations", "p_best", "open_p_best", "argmin"))
            d = {"slice": name, "model": e.id, "photo": old["photo"], "condition": old["condition"],
                 "old_verdict": old["verdict"], "old_predicted": old["predicted"],
                 "old_open_verdict": old["open_verdict"], "old_open_model": old["open_model"],
                 "verdict": row["verdict"], "predicted": row["predicted"], "open_verdict": row["open_verdict"],
                 "open_model": row["open_model"], "same_statistics": same, "p_rival": row["p_rival"],
                 "explanation": row["explanation"], "seconds": round(time.perf_counter() - t0, 1)}
            done.append(d)
            with (RESULTS / f"{name}_items.jsonl").open("a") as fh:  # the slice's row, method 6 (bench/trace.py)
                fh.write(json.dumps({**row, "photo": old["photo"]}) + "\n")
            with ITEMS.open("a") as fh:
                fh.write(json.dumps(d) + "\n")
            print(f"{name} {e.id} {old['photo']} {old['condition']}: {old['predicted']} -> {d['predicted']}; open "
                  f"{old['open_model']} -> {d['open_model']}; same statistics {same}; {d['seconds']} s", flush=True)
            s = summarise(done)
            write_results(NAME, s, markdown(s))
    s = summarise(done)
    write_results(NAME, s, markdown(s))


if __name__ == "__main__":
    main()
