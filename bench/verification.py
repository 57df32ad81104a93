"""Benchmark of ownership verification by parameter lineage (issue 15).

Sources: every published SR model and denoiser imported from ``../shared/data/pretrained``
(``$SRPRINT_HOME/bench/pretrained_zoo``, made by ``bench/pretrained_quality.py`` or
``srprint zoo import --manifest``) and every mini-zoo model (seed triplets and ``photos`` twins).

* **Copies** of every source: prune 5/10/15 %, int8, fp16, permutation + rescaling (where the graph
  traces); fine-tune 500 / 2000 iterations and
  permutation + fine-tune 500 on the first ``--finetune-sources`` sources of each population (CPU budget).
* **Negatives**: every pair of sources of the same task. Pairs whose lineage labels share a parent
  (the multi-scale CARN-M file, mini-zoo models of one architecture and seed, which start from one
  random initialisation) are *shared-parent* pairs, reported apart; the rest are independent.
* **Null** for a pair ``(A, B)``: ``S`` between ``A`` and 8 random re-initialisations of ``A``'s
  architecture, and between ``A`` and every other source sharing no lineage with ``A`` or ``B``
  (coverage >= 0.5): the pair, its copies and its relatives never enter its own calibration. (The
  CLI draws at most 16 reference models; the bench uses all.)
* **Copy band** (copy vs shared parent): calibrated on the mini zoo alone, as the geometric midpoint
  between its farthest copy and its closest significant shared-parent pair; the published models'
  copies and pairs are scored with it.

Writes bench/results/verification.{json,md}. The paper's critical-image rule on the
22-source benchmark is in verification_quan.{json,md} (bench/verification_quan.py).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from scipy.stats import beta as beta_dist

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402
from srprint.config import srprint_home  # noqa: E402
from srprint.verification import lineage as lin  # noqa: E402
from srprint.verification.attacks import attack_model  # noqa: E402
from srprint.verification.fingerprint import load_entry_model  # noqa: E402
from srprint.verification.ownership import (  # noqa: E402
    ALPHA,
    COPY_MAX_DISTANCE,
    COPY_MIN_COVERAGE,
    N_RANDOM,
    decide_lineage,
    lineage_ancestors,
)
from srprint.zoo.entry import Zoo, ZooEntry  # noqa: E402

CHEAP_ATTACKS: tuple[tuple[str, list[tuple[str, dict[str, Any]]]], ...] = (
    ("prune5", [("prune", {"percent": 5.0})]),
    ("prune10", [("prune", {"percent": 10.0})]),
    ("prune15", [("prune", {"percent": 15.0})]),
    ("int8", [("quantize", {"bits": 8})]),
    ("fp16", [("fp16", {})]),
    ("permute+rescale", [("permute", {"seed": 1}), ("rescale", {"seed": 2})]),
)
FINETUNE_ATTACKS = (
    ("finetune500", [("finetune", {"iters": 500})]),
    ("finetune2000", [("finetune", {"iters": 2000})]),
    ("permute+finetune500", [("permute", {"seed": 1}), ("finetune", {"iters": 500})]),
)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta_dist.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_dist.ppf(1 - a, k + 1, n - k))
    return lo, hi


def load_sources(zoos: list[Path]) -> list[tuple[str, ZooEntry]]:
    out = []
    for z in zoos:
        pop = "published" if "pretrained" in z.name else z.name
        for e in Zoo(z).entries():
            if e.labels.get("attack") or e.task not in ("sr", "denoise"):
                continue
            out.append((pop, e))
    return out


def make_copy(src: ZooEntry, steps: list[tuple[str, dict[str, Any]]], root: Path, tag: str) -> ZooEntry:
    cur = src
    for k, (name, params) in enumerate(steps):
        cur = attack_model(cur, name, root / src.id / f"{tag}.{k}", params=params)
    return cur


def main() -> None:  # noqa: C901, PLR0915
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", type=Path, action="append", default=None)
    ap.add_argument("--attacked", type=Path, default=srprint_home() / "bench" / "lineage-attacked")
    ap.add_argument("--finetune-sources", type=int, default=3, help="sources per population that get fine-tuned")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timing-pairs", type=int, default=4, help="pairs timed through verify_models (CLI path)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    zoos = a.zoo or [srprint_home() / "bench" / "pretrained_zoo", srprint_home() / "zoos" / "mini"]
    t0 = time.perf_counter()
    sources = load_sources(zoos)
    caps: dict[str, lin.Capture] = {}
    ents: dict[str, ZooEntry] = {}
    pops: dict[str, str] = {}
    failed: dict[str, str] = {}
    for pop, e in sources:
        try:
            caps[e.id] = lin.capture_model(load_entry_model(e))
            ents[e.id], pops[e.id] = e, pop
        except Exception as exc:  # noqa: BLE001 - a source that does not load or run is reported
            failed[e.id] = f"{type(exc).__name__}: {exc}"
    ids = sorted(caps)
    print(f"{len(ids)} sources captured ({len(failed)} failed) in {time.perf_counter() - t0:.0f}s", flush=True)

    # all pairwise statistics (symmetric enough to compute once per ordered pair we need)
    pair: dict[tuple[str, str], lin.LineageResult] = {}
    for x, y in itertools.permutations(ids, 2):
        if ents[x].task == ents[y].task:
            pair[(x, y)] = lin.compare_captures(caps[x], caps[y])
    print(f"{len(pair)} ordered pairs compared, {time.perf_counter() - t0:.0f}s", flush=True)
    rand: dict[str, list[float]] = {
        x: lin.random_init_similarities(caps[x], load_entry_model(ents[x]), N_RANDOM) for x in ids}
    tags = {x: lineage_ancestors(ents[x]) for x in ids}

    def null_for(src: str, sus_tags: set[str]) -> list[float]:
        vals = list(rand[src])
        for r in ids:
            if r == src or tags[r] & (tags[src] | sus_tags) or (src, r) not in pair:
                continue
            if pair[(src, r)].coverage >= lin.MIN_COVERAGE:
                vals.append(pair[(src, r)].similarity)
        return vals

    def verdict(src: str, res: lin.LineageResult, sus_tags: set[str]) -> dict[str, Any]:
        row: dict[str, Any] = {"similarity": res.similarity, "coverage": res.coverage}
        if res.coverage < lin.MIN_COVERAGE:
            return {**row, "verdict": "undecided"}
        test = lin.lineage_p_value(res.similarity, null_for(src, sus_tags))
        return {**row, "p_value": test["p_value"], "p_bound": test["p_bound"], "null_n": test["null_n"],
                "null_max": test["null_max"],
                "verdict": decide_lineage(res, test)}

    # negatives
    neg_rows, shared_rows = [], []
    for x, y in itertools.combinations(ids, 2):
        if (x, y) not in pair:
            continue
        row = {"source": x, "suspect": y, "populations": f"{pops[x]}/{pops[y]}", **verdict(x, pair[(x, y)], tags[y])}
        (shared_rows if tags[x] & tags[y] else neg_rows).append(row)
    print(f"{len(neg_rows)} independent + {len(shared_rows)} shared-parent pairs, {time.perf_counter() - t0:.0f}s",
          flush=True)

    # copies
    copy_rows = []
    ft_sources = {}
    for p in set(pops.values()):  # a deterministic spread over the population, not the first ids
        members = [x for x in ids if pops[x] == p]
        step = max(len(members) // max(a.finetune_sources, 1), 1)
        ft_sources[p] = members[::step][: a.finetune_sources]
    for x in ids:
        plan = list(CHEAP_ATTACKS)
        if x in ft_sources[pops[x]]:
            plan += list(FINETUNE_ATTACKS)
        for tag, steps in plan:
            ts = time.perf_counter()
            try:
                c = make_copy(ents[x], steps, a.attacked, tag)
                res = lin.compare_captures(caps[x], lin.capture_model(load_entry_model(c)))
            except Exception as exc:  # noqa: BLE001 - e.g. a graph fx cannot trace: reported, not fatal
                copy_rows.append({"source": x, "population": pops[x], "attack": tag, "error": str(exc)[:160]})
                continue
            v = verdict(x, res, tags[x] | {c.id})
            copy_rows.append({"source": x, "population": pops[x], "attack": tag, **v,
                              "psnr_change": c.metrics.get("psnr_change"), "seconds": round(time.perf_counter() - ts,
                                                                                            1)})
        print(f"copies of {x} done, {time.perf_counter() - t0:.0f}s", flush=True)

    # copy band calibrated on the mini zoo (never on the published models it scores): the geometric
    # midpoint between the farthest mini-zoo copy and the closest significant mini-zoo shared-parent pair
    calib_copies = [1 - r["similarity"] for r in copy_rows if "similarity" in r and r["population"] != "published"]
    calib_shared = [1 - r["similarity"] for r in shared_rows if r["populations"].count("published") == 0
                    and r.get("verdict") in ("copy", "shared parent") and r["coverage"] >= COPY_MIN_COVERAGE]
    edge = COPY_MAX_DISTANCE
    if calib_copies and calib_shared and max(calib_copies) < min(calib_shared):
        edge = math.sqrt(max(calib_copies) * min(calib_shared))
    for row in [*copy_rows, *neg_rows, *shared_rows]:
        if "p_value" in row:
            row["verdict"] = decide_lineage(SimpleNamespace(similarity=row["similarity"], coverage=row["coverage"]),
                                            row, ALPHA, copy_max_distance=edge)
    bound = edge

    # timing through the library's CLI path
    from srprint.verification.ownership import verify_models

    timing = []
    refs = [ents[r] for r in ids]
    for x, y in list(itertools.combinations([i for i in ids if pops[i] == "published"], 2))[: a.timing_pairs]:
        if ents[x].task != ents[y].task:
            continue
        v = verify_models(ents[x], ents[y], load=load_entry_model, references=refs)
        timing.append({"source": x, "suspect": y, "seconds": v.seconds, "verdict": v.verdict})

    def summary(rows: list[dict[str, Any]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in rows:
            out[r.get("verdict", "error")] = out.get(r.get("verdict", "error"), 0) + 1
        return out

    scored = [r for r in copy_rows if "verdict" in r]
    n_copy = sum(r["verdict"] == "copy" for r in scored)
    false_copy = sum(r["verdict"] == "copy" for r in neg_rows)
    decided_neg = [r for r in neg_rows if "p_value" in r]
    fm = sum(max(r["p_value"], r["p_bound"]) < ALPHA for r in decided_neg)
    ci = clopper_pearson(fm, len(decided_neg))
    res = {"sources": len(ids), "failed_sources": failed, "populations": {p: sum(v == p for v in pops.values())
                                                                          for p in set(pops.values())},
           "alpha": ALPHA, "copy_max_distance": COPY_MAX_DISTANCE, "copy_band_calibrated": bound,
           "copy_band_inputs": {"mini_copies_max_distance": max(calib_copies, default=None),
                                "mini_shared_parent_min_distance": min(calib_shared, default=None)},
           "copies": summary(scored), "copies_total": len(scored), "copies_verified": n_copy,
           "copy_errors": [r for r in copy_rows if "error" in r],
           "independent": summary(neg_rows), "independent_total": len(neg_rows), "false_copy": false_copy,
           "false_match_rate": fm / max(len(decided_neg), 1), "false_match_ci95": ci,
           "shared_parent": summary(shared_rows), "timing": timing,
           "seconds": round(time.perf_counter() - t0, 1),
           "copy_rows": copy_rows, "independent_rows": neg_rows, "shared_rows": shared_rows}
    md = render(res)
    write_results("verification", res, md)
    print(md)


def _fmt_counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))


def render(r: dict[str, Any]) -> str:
    lines = ["# Ownership verification by parameter lineage (issue 15)", ""]
    lines += [f"{r['sources']} sources ({_fmt_counts(r['populations'])}); "
              f"{len(r['failed_sources'])} failed to load or run on the probe: "
              f"{', '.join(r['failed_sources']) or 'none'}. Significance level alpha = {r['alpha']:g}; "
              f"copy band used for every verdict below: 1 - S <= {r['copy_band_calibrated']:.3g}, the geometric "
              f"midpoint between the farthest mini-zoo copy ({r['copy_band_inputs']['mini_copies_max_distance']}) "
              f"and the closest mini-zoo shared-parent pair "
              f"({r['copy_band_inputs']['mini_shared_parent_min_distance']})"
              f" (library default {r['copy_max_distance']:g}). Total {r['seconds']:.0f} s.", ""]
    lines += ["## Targets", "",
              "| target | result |", "|---|---|",
              f"| 100 % of copies verified | {r['copies_verified']}/{r['copies_total']} "
              f"({_fmt_counts(r['copies'])}) |",
              f"| 0 false *copy* verdicts over independent pairs | {r['false_copy']} of {r['independent_total']} "
              f"({_fmt_counts(r['independent'])}) |",
              f"| calibrated false-match rate (p and Cantelli bound < alpha) | {r['false_match_rate']:.4f}, 95 % CI "
              f"[{r['false_match_ci95'][0]:.4f}, {r['false_match_ci95'][1]:.4f}] |",
              f"| lineage verdict <= 5 s per pair | "
              f"{max((t['seconds'] for t in r['timing']), default=float('nan')):.1f} s max over "
              f"{len(r['timing'])} published pairs (verify_models, in process) |", "",
              f"Shared-parent pairs (reported apart): {_fmt_counts(r['shared_parent'])}.", ""]
    lines += ["## Copies by attack", "",
              "| attack | n | copy | other verdicts | min S | max 1 - S | PSNR change (dB) |",
              "|---|---:|---:|---|---:|---:|---|"]
    by: dict[str, list[dict[str, Any]]] = {}
    for row in r["copy_rows"]:
        if "verdict" in row:
            by.setdefault(row["attack"], []).append(row)
    for att, rows in by.items():
        other = _fmt_counts({k: v for k, v in _count(rows).items() if k != "copy"}) or "-"
        ps = [x["psnr_change"] for x in rows if x.get("psnr_change") is not None]
        lines.append(f"| {att} | {len(rows)} | {sum(x['verdict'] == 'copy' for x in rows)} | {other} | "
                     f"{min(x['similarity'] for x in rows):.5f} | {max(1 - x['similarity'] for x in rows):.2e} | "
                     f"{min(ps):+.2f} .. {max(ps):+.2f} |")
    lines += ["", f"Attacks that could not be applied: {len(r['copy_errors'])} "
              f"({', '.join(sorted({e['attack'] + ' on ' + e['source'].split('-')[0] for e in r['copy_errors']}))})",
              ""]
    lines += ["## Closest independent pairs", "", "| source | suspect | S | coverage | p | verdict |",
              "|---|---|---:|---:|---:|---|"]
    for row in sorted(r["independent_rows"], key=lambda x: -x["similarity"] * (x["coverage"] >= 0.5))[:15]:
        lines.append(f"| {row['source']} | {row['suspect']} | {row['similarity']:.3f} | {row['coverage']:.2f} | "
                     f"{row.get('p_value', float('nan')):.3g} | {row['verdict']} |")
    lines += ["", "## Shared-parent pairs", "", "| source | suspect | S | coverage | verdict |",
              "|---|---|---:|---:|---|"]
    for row in sorted(r["shared_rows"], key=lambda x: -x["similarity"])[:20]:
        lines.append(f"| {row['source']} | {row['suspect']} | {row['similarity']:.3f} | {row['coverage']:.2f} | "
                     f"{row['verdict']} |")
    lines += ["", "## Time per pair (library path, null included)", "", "| source | suspect | s | verdict |",
              "|---|---|---:|---|"]
    lines += [f"| {t['source']} | {t['suspect']} | {t['seconds']:.1f} | {t['verdict']} |" for t in r["timing"]]
    return "\n".join(lines) + "\n"


def _count(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in rows:
        out[x["verdict"]] = out.get(x["verdict"], 0) + 1
    return out


if __name__ == "__main__":
    main()
