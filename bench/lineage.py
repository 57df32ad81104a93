"""Lineage index benchmark (issue 28): a population built with srprint's own trainer and attacks.

Population (all under ``$SRPRINT_HOME/bench/lineage/``; every model and every query result is kept, so
a rerun skips finished items):

* **roots**: published x4 checkpoints (``$SRPRINT_SHARED/data/pretrained``, imported into the benchmarks'
  shared published zoo);
* **derived**, two generations per root: ``ft1`` (fine-tune of the root), ``ft2`` (fine-tune of ``ft1``),
  ``sib`` (another fine-tune of the root: other photos, other seed);
* **re-uploads** of each root (queried, never indexed): renamed, fp16, int8, permuted channels;
* **independent** models: mini-zoo x4 L1 models of distinct (architecture, seed), copied to
  ``$SRPRINT_HOME/zoos/mini``.

The index holds roots, derived and independent models. Each query leaves the model itself out.
Measured: re-upload detection; parent links (a derived model's answer names its true parent) with
precision and recall; direction (a derived model answered *derived from its parent*, a root answered
*its child derives from it*); false links among independent models (an answer naming a model outside
its own (architecture, seed) family); lookup time against synthetic indexes of 100 / 1k / 10k / 100k
random unit sketches (synthetic: timing only); sketch throughput per core. Rates carry Wilson 95 %
intervals. Writes ``bench/results/lineage.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from itertools import zip_longest
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from _common import write_results  # noqa: E402

ROOTS = ("imdn_official_x4", "rfdn_aim2020_x4", "rlfn-s_official_x4", "span-ch28_ntire2024_x4",
         "safmn_ntire2023_x4", "fsrcnn_opencv_x4", "espcn_opencv_x4", "efdn_ntire2022_x4", "rlfn_official_x4",
         "bsrn_ntire2022_x4", "fmen_ntire2022_x4", "mobilesr_ntire2022_x4")
INDEPENDENT = tuple(f"{a}-bsds-x4-L1-s{s}" for a in ("EDSR", "RCAN", "RDN", "NLSN", "SwinIR") for s in (1, 2, 3))
FT = {"iters": 100, "lr": 1e-4}
DERIVED = {"ft1": ("root", {"seed": 0, "data": "bsd68"}), "ft2": ("ft1", {"seed": 1, "data": "bsd68"}),
           "sib": ("root", {"seed": 2, "data": "skimage"})}
REUPLOADS = {"renamed": None, "fp16": ("fp16", {}), "int8": ("quantize", {"bits": 8}),
             "permuted": ("permute", {"seed": 3})}
SYNTHETIC_SIZES = (100, 1_000, 10_000, 100_000)


def wilson(k: int, n: int, z: float = 1.96) -> dict[str, Any]:
    from srprint.rates import wilson_interval

    if n == 0:
        return {"k": 0, "n": 0, "rate": None, "ci95": None}
    lo, hi = wilson_interval(k, n, z=z)
    return {"k": k, "n": n, "rate": round(k / n, 4), "ci95": [round(lo, 4), round(hi, 4)]}


def _cached(path: Path, fn: Any) -> Any:
    if path.is_file():
        return json.loads(path.read_text())
    val = fn()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(val, default=str))
    tmp.replace(path)
    return val


def build_population(state: Path, n_roots: int) -> dict[str, Any]:
    """Import the roots, make the derived models and re-uploads, copy the independent models."""
    from srprint.config import shared_data_dir, srprint_home
    from srprint.verification.attacks import attack_model
    from srprint.zoo.entry import ZooEntry
    from srprint.zoo.imports import import_manifest
    from srprint.zoo.study import copy_prebuilt_zoo, pretrained_zoo_dir

    pre = pretrained_zoo_dir()
    import_manifest(shared_data_dir() / "pretrained" / "models.csv", pre, only=list(ROOTS[:n_roots]))
    mini = srprint_home() / "zoos" / "mini"
    copy_prebuilt_zoo(shared_data_dir() / "zoos" / "mini", mini)
    pop: dict[str, Any] = {"roots": {}, "derived": {}, "reuploads": {}, "independent": {}, "failed": {},
                           "attack_s": {}}
    derived_zoo, up_zoo = state / "derived", state / "reuploads"
    for rid in ROOTS[:n_roots]:
        eid = f"{rid}-pretrained"
        if not (pre / eid / "model.json").is_file():
            pop["failed"][rid] = "import failed"
            continue
        root = ZooEntry.load(pre / eid)
        pop["roots"][rid] = str(root.path)
        made = {"root": root}
        for name, (parent, params) in DERIVED.items():
            try:
                t = time.perf_counter()
                out = derived_zoo / f"{rid}-{name}"
                if (out / "model.json").is_file():
                    e = ZooEntry.load(out)
                else:
                    e = attack_model(made[parent], "finetune", out, params={**FT, **params})
                    pop["attack_s"][f"{rid}-{name}"] = round(time.perf_counter() - t, 2)
                pop["attack_s"][f"{rid}-{name}"] = (e.timings or {}).get("attack_seconds")
                if e.id != f"{rid}-{name}":  # attacked ids repeat (ft1 and sib are both ROOT+finetune100)
                    e.id = f"{rid}-{name}"
                    e.save(out)
                    e = ZooEntry.load(out)
                made[name] = e
                pop["derived"][f"{rid}-{name}"] = {"path": str(e.path), "parent": made[parent].id, "root": rid,
                                                   "generation": 2 if parent == "ft1" else 1}
            except Exception as exc:  # noqa: BLE001 - one failing model must not stop the population
                pop["failed"][f"{rid}-{name}"] = f"{type(exc).__name__}: {exc}"[:200]
        for name, spec in REUPLOADS.items():
            out = up_zoo / f"{rid}-{name}"
            try:
                if spec is None:
                    if not out.is_dir():
                        shutil.copytree(root.path, out)
                        e = ZooEntry.load(out)
                        e.id = f"{rid}-reupload-renamed"
                        e.save(out)
                else:
                    attack_model(root, spec[0], out, params=spec[1])
                pop["reuploads"][f"{rid}-{name}"] = {"path": str(out), "of": root.id, "edit": name}
            except Exception as exc:  # noqa: BLE001 - e.g. permute on an untraceable graph
                pop["failed"][f"{rid}-{name}"] = f"{type(exc).__name__}: {exc}"[:200]
    for mid in INDEPENDENT:
        if (mini / mid / "model.json").is_file():
            pop["independent"][mid] = str(mini / mid)
    return pop


def _family(model_id: str, pop: dict[str, Any]) -> str:
    """Lineage family of an indexed model id: the root's id for the published lineages, the
    (architecture, seed) for mini-zoo models (one seed and architecture share a random initialisation)."""
    for rid, path in pop["roots"].items():
        if model_id == Path(path).name or model_id.startswith(Path(path).name):
            return rid
    for d in pop["derived"].values():
        if model_id.startswith(d["root"]):
            return d["root"]
    parts = model_id.split("-")
    return f"{parts[0]}-s{parts[-1]}" if parts else model_id


def run_queries(state: Path, pop: dict[str, Any], index: Path, *, deadline: float,
                n_confirm: int) -> list[dict[str, Any]]:
    from srprint.lineage.query import query_file
    from srprint.zoo.entry import ZooEntry

    jobs: list[tuple[str, str, str, dict[str, Any]]] = []
    for k, v in pop["reuploads"].items():
        jobs.append(("reupload", k, v["path"], {"expect": v["of"]}))
    for k, v in pop["derived"].items():
        jobs.append(("derived", k, v["path"], {"expect": v["parent"]}))
    for rid, path in pop["roots"].items():
        kids = [ZooEntry.load(d["path"]).id for d in pop["derived"].values() if d["root"] == rid and
                d["generation"] == 1]
        jobs.append(("root", rid, path, {"children": kids}))
    for mid, path in pop["independent"].items():
        jobs.append(("independent", mid, path, {}))
    # round robin over the kinds, so a run cut short by its time budget still scores every kind
    by_kind: dict[str, list[Any]] = {}
    for j in jobs:
        by_kind.setdefault(j[0], []).append(j)
    jobs = [j for group in zip_longest(*by_kind.values()) for j in group if j is not None]
    rows = []
    qdir = state / "queries"
    qdir.mkdir(exist_ok=True)
    for kind, name, path, extra in jobs:
        me = _cached(qdir / f"{kind}-{name}.id.json", lambda p=path: ZooEntry.load(p).id)

        if not (qdir / f"{kind}-{name}.json").is_file() and time.time() > deadline:
            rows.append({"kind": kind, "name": name, "id": me, **extra, "not_run": "time budget"})
            continue

        def run(path: str = path, me: str = me, kind: str = kind) -> dict[str, Any]:
            try:
                res = query_file(Path(path), index, exclude=frozenset() if kind == "reupload" else frozenset({me}),
                                 n_confirm=n_confirm)
            except Exception as exc:  # noqa: BLE001 - recorded per item
                return {"error": f"{type(exc).__name__}: {exc}"[:300]}
            return {k: res.get(k) for k in ("answer", "match", "fwer", "text", "lookup_ms", "sketch_s",
                                            "confirm_s", "group_size")} | {
                "top_candidates": [c["id"] for c in res.get("candidates", [])[:3]],
                "n_confirmed": len(res.get("relations", [])),
                "relations": [{k: r[k] for k in ("candidate", "relation", "verdict", "p_value", "fwer",
                                                 "function_db")} for r in res.get("relations", [])]}

        print(f"query {kind} {name}", flush=True)
        res = _cached(qdir / f"{kind}-{name}.json", run)
        rows.append({"kind": kind, "name": name, "id": me, **extra, **res})
    return rows


def score(rows: list[dict[str, Any]], pop: dict[str, Any]) -> dict[str, Any]:
    not_run = [f"{r['kind']} {r['name']}" for r in rows if "not_run" in r]
    rows = [r for r in rows if "not_run" not in r]
    up = [r for r in rows if r["kind"] == "reupload" and "error" not in r]
    reup_ok = [r for r in up if r["answer"] == "same model" and r["match"] == r["expect"]]
    by_edit = {e: wilson(sum(r in reup_ok for r in up if r["name"].endswith(e)),
                         sum(r["name"].endswith(e) for r in up)) for e in REUPLOADS}
    der = [r for r in rows if r["kind"] == "derived" and "error" not in r]
    linked = [r for r in der if r["answer"] in ("derived", "parent", "derived (direction unknown)")]
    correct = [r for r in linked if r["match"] == r["expect"]]
    roots = [r for r in rows if r["kind"] == "root" and "error" not in r]
    root_linked = [r for r in roots if r["answer"] in ("derived", "parent", "derived (direction unknown)")
                   and r["match"] in r["children"]]
    dir_n = len(correct) + len(root_linked)
    dir_ok = sum(r["answer"] == "derived" for r in correct) + sum(r["answer"] == "parent" for r in root_linked)
    ind = [r for r in rows if r["kind"] == "independent" and "error" not in r]
    false = [r for r in ind if r["answer"] != "unknown" and _family(str(r["match"]), pop) != _family(r["id"], pop)]
    lookups = [r["lookup_ms"] for r in rows if r.get("lookup_ms") is not None]
    conf = [r["confirm_s"] / r["n_confirmed"] for r in rows if r.get("n_confirmed") and r.get("confirm_s")]
    top1 = sum(bool(r.get("top_candidates")) and r["top_candidates"][0] == r["expect"] for r in der)
    top3 = sum(r["expect"] in (r.get("top_candidates") or []) for r in der)
    return {"not_run": not_run, "parent_in_sketch_top1": wilson(top1, len(der)),
            "parent_in_sketch_top3": wilson(top3, len(der)),
            "reupload": wilson(len(reup_ok), len(up)), "reupload_by_edit": by_edit,
            "parent_precision": wilson(len(correct), len(linked)), "parent_recall": wilson(len(correct), len(der)),
            "direction": wilson(dir_ok, dir_n), "false_links_independent": wilson(len(false), len(ind)),
            "false_link_examples": [r["text"] for r in false][:10],
            "errors": [f"{r['kind']} {r['name']}: {r['error']}" for r in rows if "error" in r],
            "lookup_ms_median_real": float(np.median(lookups)) if lookups else None,
            "confirm_s_per_candidate_median": float(np.median(conf)) if conf else None,
            "confirm_s_per_candidate_max": float(np.max(conf)) if conf else None}


def synthetic_timing(state: Path, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Lookup time (``LineageIndex.nearest``: open the vectors, search, read the records) against indexes
    of random unit sketches (synthetic), and the time to insert them."""
    from srprint.lineage.sketch import SKETCH_DIM
    from srprint.lineage.store import LineageIndex, Record

    out = []
    for n in sizes:
        def run(n: int = n) -> dict[str, Any]:
            d = state / f"synthetic-{n}"
            shutil.rmtree(d, ignore_errors=True)
            rng = np.random.default_rng(n)
            x = rng.standard_normal((n, SKETCH_DIM))
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            ix = LineageIndex(d, create=True)
            t = time.perf_counter()
            for s in range(0, n, 10_000):
                ix.add([Record(f"synthetic-{i}", f"{i:064x}", "synthetic", "sr", 4, "sr-x4", x[i], {})
                        for i in range(s, min(n, s + 10_000))])
            insert_s = time.perf_counter() - t
            q = x[rng.choice(n, 50)] + 0.01 * rng.standard_normal((50, SKETCH_DIM))
            lat = []
            for v in q:
                t = time.perf_counter()
                LineageIndex(d).nearest("sr-x4", v / np.linalg.norm(v), 10)
                lat.append((time.perf_counter() - t) * 1000)
            shutil.rmtree(d, ignore_errors=True)
            return {"n": n, "synthetic": True, "insert_s": round(insert_s, 2), "insert_per_s": round(n / insert_s),
                    "lookup_ms_median": round(float(np.median(lat)), 2),
                    "lookup_ms_p95": round(float(np.percentile(lat, 95)), 2)}

        print(f"synthetic {n}", flush=True)
        out.append(_cached(state / f"synthetic-{n}.json", run))
    return out


def markdown(res: dict[str, Any]) -> str:
    s = res["scores"]

    def w(x: dict[str, Any]) -> str:
        return "n/a" if x["n"] == 0 else f"{x['k']}/{x['n']} = {x['rate']:.1%} (95 % CI {x['ci95'][0]:.1%}-" \
                                          f"{x['ci95'][1]:.1%})"

    p = res["population"]
    md = ["# Lineage index benchmark (issue 28)", "",
          f"Population: {p['roots']} published x4 roots, {p['derived']} derived models (fine-tunes of {FT['iters']} "
          f"Adam steps at lr {FT['lr']}: ft1 of the root, ft2 of ft1, sib of the root on other photos), "
          f"{p['reuploads']} re-uploads (renamed, fp16, int8, permuted), {p['independent']} independent mini-zoo "
          f"models. Indexed: roots + derived + independent ({p['indexed']}). Each query leaves itself out.", "",
          "| measure | result | target |", "|---|---|---|",
          f"| re-uploads found as *same model* of their root | {w(s['reupload'])} | 100 % |"]
    md += [f"| - {e} | {w(v)} | |" for e, v in s["reupload_by_edit"].items()]
    md += [f"| parent-link precision | {w(s['parent_precision'])} | >= 95 % |",
           f"| parent-link recall | {w(s['parent_recall'])} | >= 90 % |",
           f"| direction (derived -> *derived from parent*; root -> *child derives from it*) | {w(s['direction'])} "
           f"| >= 90 % |",
           f"| independent models with a false link | {w(s['false_links_independent'])} | 0 |",
           f"| derived: true parent is the nearest sketch (lookup alone) | {w(s['parent_in_sketch_top1'])} | |",
           f"| derived: true parent among the 3 nearest sketches | {w(s['parent_in_sketch_top3'])} | |",
           f"| confirmation per candidate, median / max | {s['confirm_s_per_candidate_median']:.2f} s / "
           f"{s['confirm_s_per_candidate_max']:.2f} s | <= 5 s |" if s["confirm_s_per_candidate_median"] else
           "| confirmation | n/a | |",
           f"| sketch throughput (one core) | {res['throughput']['models_per_s_per_core']:.2f} models/s "
           f"({res['throughput']['n']} models) | |", "",
           "## Lookup time against index size (synthetic random sketches: timing only)", "",
           "| entries | lookup ms median | p95 | insert /s |", "|---|---|---|---|"]
    md += [f"| {r['n']:,} | {r['lookup_ms_median']} | {r['lookup_ms_p95']} | {r['insert_per_s']:,} |"
           for r in res["synthetic"]]
    md += ["", "Target: <= 50 ms at 10 000 entries on 2 cores (the lookup: open the index, search, read the records; "
           "sketching the query and confirming are timed apart).", ""]
    md += ["## Notes", "",
           "- Every query result is cached per item under `$SRPRINT_HOME/bench/lineage/queries` and was computed "
           "between 06:59 and 07:52 UTC while the relation rules changed: the renamed / fp16 / permuted re-uploads "
           "(answers *same model* throughout) by the first rules, int8 re-uploads after the int8 rule (a storage grid "
           "on one side of a related pair), derived / root / independent queries after the last rule change (a "
           "related pair is *derived* only when the direction rules order it; FWER level 0.05).",
           "- Confirmation runs `verify_models` as it stood in the working tree during the run (verification v3, "
           "being built in parallel): it called most 100-step fine-tunes *shared parent*, not *copy*, with "
           "p-values of 2e-5 to 1e-3, so Holm over the 39 indexed x4 models keeps most of them at 0.05, and "
           "the links are lost to the direction rule (next note): an unordered related pair is *shares a parent*.",
           "- The weight-kurtosis direction rule is near chance on these published fine-tunes: of 18 true "
           "parent-child pairs it ordered 3 (2 right, 1 wrong) and left the rest *too close to call* (margin 0.2); "
           "a weight-norm rule was no better (the child had the larger norm in 5 of 18 pairs; not used).",
           "- *Parent-link precision* counts answers *derived*, *parent* or *derived (direction unknown)*; "
           "*shares a parent* answers are not links. The sketch lookup alone puts the true parent among the 3 "
           "nearest candidates for every derived model.",
           "- Load: 5 engineers share 2 cores (load average 5-9 during the run); times are upper bounds.",
           "- Not run: the issue's full population (>= 15 roots, >= 60 derived, >= 40 independent): the 6-root run "
           "cost ~10 min to build (a 100-step fine-tune of a published x4 model: "
           f"{np.median([v for v in res['population']['attack_s'].values() if v] or [0]):.0f} s median) and ~50 min "
           "of queries (about 30-60 s per query: 1-2 confirmations of 12-48 s each).", ""]
    if s["not_run"]:
        md += ["## Not run (time budget)", "", ", ".join(s["not_run"]), ""]
    if s["errors"]:
        md += ["## Errors", ""] + [f"- {e}" for e in s["errors"]] + [""]
    if res["population"]["failed"]:
        md += ["## Models not built", ""] + [f"- {k}: {v}" for k, v in res["population"]["failed"].items()] + [""]
    md += ["## Answers", "", "| kind | model | answer | match | FWER | lookup ms |", "|---|---|---|---|---|---|"]
    md += [f"| {r['kind']} | {r['name']} | {r.get('answer')} | {r.get('match')} | "
           f"{'' if r.get('fwer') is None else format(r['fwer'], '.2g')} | {r.get('lookup_ms')} |"
           for r in res["rows"]]
    return "\n".join(md) + "\n"


def main(argv: list[str] | None = None) -> int:
    from srprint.config import srprint_home
    from srprint.lineage.build import index_models

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--roots", type=int, default=6, help="published roots (of the 12 listed)")
    ap.add_argument("--synthetic", type=int, nargs="*", default=list(SYNTHETIC_SIZES))
    ap.add_argument("--budget-min", type=float, default=30.0, help="start no new query after this many minutes")
    ap.add_argument("--confirm", type=int, default=2, help="candidates confirmed per query (at most)")
    args = ap.parse_args(argv)
    state = srprint_home() / "bench" / "lineage"
    state.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pop = build_population(state, args.roots)
    build_s = time.perf_counter() - t0
    index = state / f"index-{args.roots}"
    indexed = list(pop["roots"].values()) + [d["path"] for d in pop["derived"].values()] + \
        list(pop["independent"].values())

    def build() -> dict[str, Any]:
        shutil.rmtree(index, ignore_errors=True)
        t = time.perf_counter()
        res = index_models([Path(p) for p in indexed], index)
        return {"s": time.perf_counter() - t, "n": len(res["results"]), "failed": res["failed"]}

    built = _cached(state / f"index-{args.roots}.json", build)
    rows = run_queries(state, pop, index, deadline=time.time() + 60 * args.budget_min, n_confirm=args.confirm)
    res = {"population": {"roots": len(pop["roots"]), "derived": len(pop["derived"]),
                          "reuploads": len(pop["reuploads"]), "independent": len(pop["independent"]),
                          "indexed": built["n"], "failed": pop["failed"], "attack_s": pop["attack_s"],
                          "build_population_s_this_run": round(build_s, 1)},
           "throughput": {"n": built["n"], "index_build_s": round(built["s"], 2),
                          "models_per_s_per_core": built["n"] / built["s"]},
           "synthetic": synthetic_timing(state, tuple(args.synthetic)), "rows": rows}
    res["scores"] = score(rows, pop)
    write_results("lineage", res, markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
