"""Benchmark of ownership verification by critical images (issue 7).

Every source model vs its pruned / fine-tuned / quantised copies (with their held-out PSNR change)
and every pair of independent source models, under a reduced-cost setting; a subset re-run under
the reference setting (5000 Adam iterations, 128 x 128) to check the verdicts agree; baselines and
ablations (``--method``) on a subset. Resumable: fingerprints and attacked models are cached.

    .venv/bin/python bench/verification.py [--ids A,B,... --ref-ids A,B --ref-copy-ids A ...]

Reduced-cost default: the reference image size (128 x 128; denoisers 64 x 64, see
``DENOISE_SIZE_DIVISOR``) with 1000 instead of 5000 Adam iterations (100 did not reproduce the
reference verdicts; see the notes in the results). The image size is kept because
the histogram features of a small image are dominated by pixel-sampling noise: with ``N`` pixels a
histogram bin fluctuates by about ``sqrt(p (1 - p) / N)``, at 48 x 48 already ~0.8 eta of ``d``
between two statistically identical images, at 128 x 128 about 0.1 eta (eta assumes sigma = 0.015
per bin). Fine-tuning follows the paper: 500 Adam iterations (fresh state, lr 1e-5) on BSD68-pool
photos, which keeps the held-out PSNR change within 1 dB.

Writes bench/results/verification_quan.{json,md} (the paper's critical-image rule; the default lineage
verdict is bench/verification.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srprint.config import srprint_home
from srprint.verification.attacks import attack_model, attacked_id
from srprint.verification.baselines import match_verdict
from srprint.verification.fingerprint import FingerprintSettings, fingerprint_model
from srprint.verification.fingerprint import load_entry_model as load_model
from srprint.verification.verify import eta_threshold, verify_fingerprints
from srprint.zoo.entry import Zoo, ZooEntry

RESULTS = Path(__file__).parent / "results"
# multi-scale files share one body: keep one scale so "independent" pairs really are independent
# (CARN-M does not load outside the import helper; RFDN/RLFN x4 need >= 64 px inputs; CRAFT is too slow on CPU)
SKIP_IMPORTED = ("carn-m_official", "imdn-as_official_x4", "rfdn_", "rlfn-ntire_official_x4", "rlfn-s_official_x4",
                 "rlfn_official_x4", "craft_")


def machine_info() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=False).stdout.strip() or None
    except OSError:
        commit = None
    return {"commit": commit, "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "python": platform.python_version()}


def load_avg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def sources(zoos: list[Path], max_params: int, limit: int | None, ids: set[str] | None = None) -> list[ZooEntry]:
    out = []
    for z in zoos:
        for e in Zoo(z).entries():
            if ids and e.id not in ids:
                continue
            if e.status != "complete" or e.labels.get("attack") or any(e.id.startswith(s) for s in SKIP_IMPORTED):
                continue
            if not Path(e.weights_path).is_file():  # a zoo still being trained
                continue
            if e.task not in ("sr", "denoise"):
                continue
            try:
                n = sum(p.numel() for p in load_model(e).parameters())
            except Exception as exc:  # noqa: BLE001 - an entry that does not load is reported, not fatal
                print(f"skip {e.id}: {exc}")
                continue
            if n <= max_params:
                out.append(e)
    return out[:limit] if limit else out


def attack_set(e: ZooEntry, finetune_iters: int) -> list[tuple[str, dict[str, Any]]]:
    return [("prune", {"percent": 10.0 if e.task == "denoise" else 5.0}), ("finetune", {"iters": finetune_iters}),
            ("quantize", {"bits": 8})]


ATTACK_NAMES = ("prune", "finetune", "quantize")  # the attacks of attack_set(), in table order
DENOISE_SIZE_DIVISOR = 2  # full-resolution denoisers cost ~10x a tiny SR net per pixel: half the side


def settings_for(e: ZooEntry, size: int, iters: int, method: str = "critical", k: int = 1) -> FingerprintSettings:
    if e.task == "denoise":
        size //= DENOISE_SIZE_DIVISOR
    return FingerprintSettings(task=e.task, size=size, iters=iters, method=method, k=k)


def main() -> None:  # noqa: C901, PLR0915
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", type=Path, action="append", default=None)
    ap.add_argument("--attacked", type=Path, default=srprint_home() / "zoos" / "verification-bench-attacked")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--iters", type=int, default=1000, help="reduced setting (1000 matched the reference)")
    ap.add_argument("--ref-size", type=int, default=128)
    ap.add_argument("--ref-iters", type=int, default=5000)
    ap.add_argument("--ref-models", type=int, default=1)
    ap.add_argument("--baseline-models", type=int, default=4)
    ap.add_argument("--baselines", default="wo_tv,maxobj,projcl,poolcl")
    ap.add_argument("--baseline-k", type=int, default=2, help="boundary points per IPGuard fingerprint")
    ap.add_argument("--baseline-ids", default="", help="comma-separated source ids for baselines/ablations")
    ap.add_argument("--finetune-iters", type=int, default=500)
    ap.add_argument("--max-params", type=int, default=1_000_000)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--budget-s", type=float, default=3000, help="stop starting new phases after this")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: far faster on a contended CPU)")
    ap.add_argument("--phases", default="reduced,baselines,reference")
    ap.add_argument("--tag", default="", help="suffix of this run's part file (concurrent partial runs)")
    ap.add_argument("--ids", default="", help="only these source ids (comma-separated)")
    ap.add_argument("--ref-ids", default="", help="comma-separated source ids for the reference subset")
    ap.add_argument("--ref-copy-ids", default=None,
                    help="reference: only these sources' attacked copies (default: all of --ref-ids)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    zoos = a.zoo or [srprint_home() / "zoos" / "mini", srprint_home() / "zoos" / "verification-imported"]
    t_start = time.perf_counter()
    phases = set(a.phases.split(","))
    part = "+".join(sorted(phases)) + (f"-{a.tag}" if a.tag else "")
    res: dict[str, Any] = {"machine": machine_info(), "args": {k: str(v) for k, v in vars(a).items()},
                           "eta": eta_threshold(), "load_avg_start": load_avg()}

    def over_budget() -> bool:
        return time.perf_counter() - t_start > a.budget_s

    def save() -> None:
        res["wall_seconds"] = round(time.perf_counter() - t_start, 1)
        res["load_avg_end"] = load_avg()
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"verification_quan.part-{part}.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
        merge()

    srcs = sources(zoos, a.max_params, a.limit, set(a.ids.split(",")) - {""})
    res["sources"] = [{"id": e.id, "arch": e.arch, "scale": e.scale, "task": e.task, "source": e.source} for e in srcs]
    print(f"{len(srcs)} source models")

    # 1) attacks
    attacked: dict[str, list[ZooEntry]] = {}
    rows = []
    for e in srcs:
        attacked[e.id] = []
        for name, params in attack_set(e, a.finetune_iters):
            out = a.attacked / attacked_id(e.id, name, params)
            ae = attack_model(e, name, out, params=params)
            attacked[e.id].append(ae)
            rows.append({"source": e.id, "attack": name, "params": params, **ae.metrics})
            print(f"attack {ae.id}: PSNR change {ae.metrics['psnr_change']:+.3f} dB", flush=True)
    res["attacks"] = rows
    save()

    def run_setting(tag: str, size: int, iters: int, subset: list[ZooEntry], method: str = "critical",
                    k: int = 1, copy_ids: set[str] | None = None) -> dict[str, Any]:
        def copies_of(e: ZooEntry) -> list[ZooEntry]:
            return attacked[e.id] if copy_ids is None or e.id in copy_ids else []

        fps, times = {}, []
        for e in subset:
            for m in [e, *copies_of(e)]:
                fp = fingerprint_model(m, settings_for(e, size, iters, method, k))
                fps[m.id] = fp
                if m is e:
                    times.append(fp.seconds)
                print(f"[{tag}] {m.id}: {fp.seconds:.1f}s load {load_avg():.1f}", flush=True)
        out: dict[str, Any] = {"size": size, "iters": iters, "method": method, "n_models": len(subset),
                               "seconds_per_model": {"mean": float(np.mean(times)), "max": float(np.max(times)),
                                                     "all": times}}
        copies = []
        for e in subset:
            for ae in copies_of(e):
                if method in ("projcl", "poolcl"):
                    mv = match_verdict(fps[e.id], load_model(ae))
                    copies.append({"source": e.id, "attack": ae.labels["attack"], "is_copy": mv["is_copy"],
                                   "score": mv["match_rate"]})
                else:
                    v = verify_fingerprints(fps[e.id], fps[ae.id])
                    copies.append({"source": e.id, "attack": ae.labels["attack"], "is_copy": v.is_copy,
                                   "score": v.ratio})
        pairs = []
        for e1, e2 in itertools.combinations(subset, 2):
            if e1.task != e2.task:
                continue
            if method in ("projcl", "poolcl"):
                if fps[e1.id].images[0].shape != fps[e2.id].images[0].shape:
                    continue
                mv = match_verdict(fps[e1.id], load_model(e2))
                pairs.append({"a": e1.id, "b": e2.id, "is_copy": mv["is_copy"], "score": mv["match_rate"]})
            else:
                v = verify_fingerprints(fps[e1.id], fps[e2.id])
                pairs.append({"a": e1.id, "b": e2.id, "is_copy": v.is_copy, "score": v.ratio})
        out.update({"copies": copies, "pairs": pairs, **tally(copies, pairs)})
        return out

    # 2) reduced-cost setting, every model
    if "reduced" in phases:
        res["reduced"] = run_setting("reduced", a.size, a.iters, srcs)
        save()
    # 3) baselines / ablations on a subset
    bids = [i for i in a.baseline_ids.split(",") if i]
    sub = [e for e in srcs if e.id in bids] if bids else srcs[: a.baseline_models]
    for method in [m for m in a.baselines.split(",") if m and "baselines" in phases]:
        res.setdefault("baselines", {})
        if over_budget():
            res["baselines"][method] = {"skipped": "time budget"}
            continue
        k = a.baseline_k if method in ("projcl", "poolcl") else 1
        res["baselines"][method] = run_setting(method, a.size, a.iters, sub, method, k)
        save()
    if "baselines" in phases:
        res["baseline_ids"] = [e.id for e in sub]
        save()
    # 4) reference setting on a subset (verdicts compared with the reduced setting in merge())
    if "reference" in phases and a.ref_models:
        ids = [i for i in a.ref_ids.split(",") if i]
        ref_sub = [e for e in srcs if e.id in ids] if ids else srcs[: a.ref_models]
        cids = None if a.ref_copy_ids is None else set(a.ref_copy_ids.split(",")) - {""}
        res["reference"] = run_setting("reference", a.ref_size, a.ref_iters, ref_sub, copy_ids=cids)
        save()


def merge() -> dict[str, Any]:
    """Combine the parts written by (possibly concurrent) runs into verification.{json,md}."""
    res: dict[str, Any] = {}
    for p in sorted(RESULTS.glob("verification_quan.part-*.json")):
        part = json.loads(p.read_text())
        # each part is its own run: keep its commit, load and wall time next to its results
        res.setdefault("parts", {})[p.name[len("verification_quan.part-") : -len(".json")]] = {
            "commit": part.get("machine", {}).get("commit"), "threads": part.get("args", {}).get("threads"),
            "load_avg_start": part.get("load_avg_start"), "load_avg_end": part.get("load_avg_end"),
            "wall_seconds": part.get("wall_seconds")}
        for k, v in part.items():
            if k == "baselines":  # a method run in several parts: keep the setting with the most iterations
                base = res.setdefault("baselines", {})
                for method, run in v.items():
                    if method not in base or run.get("iters", 0) >= base[method].get("iters", 0):
                        base[method] = run
            elif k in ("load_avg_start", "load_avg_end", "wall_seconds"):
                res[k] = max(res.get(k, 0), v)
            elif k in ("attacks", "sources"):
                if len(v) > len(res.get(k, [])):
                    res[k] = v
            elif k in ("machine", "eta"):
                res.setdefault(k, v)
            elif k == "reference" and "reference" in res:  # reference runs on further subsets add up
                res["reference"] = combine_runs(res["reference"], v)
            else:
                res[k] = v
    if "reduced" in res and res.get("baseline_ids"):
        res.setdefault("baselines", {})["critical (same subset)"] = subset_summary(res["reduced"],
                                                                                    set(res["baseline_ids"]))
    if "reduced" in res and "reference" in res:
        ref = res["reference"]
        red = {(c["source"], c["attack"]): c["is_copy"] for c in res["reduced"]["copies"]}
        redp = {(p["a"], p["b"]): p["is_copy"] for p in res["reduced"]["pairs"]}
        agree = [red[(c["source"], c["attack"])] == c["is_copy"] for c in ref["copies"]
                 if (c["source"], c["attack"]) in red]
        agree += [redp[(p["a"], p["b"])] == p["is_copy"] for p in ref["pairs"] if (p["a"], p["b"]) in redp]
        ref["verdicts_identical_to_reduced"] = bool(agree) and all(agree)
        ref["n_compared"] = len(agree)
    if "machine" in res:
        (RESULTS / "verification_quan.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
        (RESULTS / "verification_quan.md").write_text(markdown(res))
    return res


def tally(copies: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Copies verified (overall and per attack) and false matches among independent pairs."""
    by_attack = {n: {"verified": sum(c["is_copy"] for c in copies if c["attack"] == n),
                     "n": sum(1 for c in copies if c["attack"] == n)} for n in ATTACK_NAMES}
    return {"by_attack": by_attack, "copies_verified": sum(c["is_copy"] for c in copies), "n_copies": len(copies),
            "false_matches": sum(p["is_copy"] for p in pairs), "n_pairs": len(pairs)}


def combine_runs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """One run record from two runs of the same setting on disjoint subsets (no pairs across them)."""
    times = a["seconds_per_model"]["all"] + b["seconds_per_model"]["all"]
    copies, pairs = a["copies"] + b["copies"], a["pairs"] + b["pairs"]
    return {**a, "n_models": a["n_models"] + b["n_models"],
            "seconds_per_model": {"mean": float(np.mean(times)), "max": float(np.max(times)), "all": times},
            "copies": copies, "pairs": pairs, **tally(copies, pairs)}


def subset_summary(run: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    copies = [c for c in run["copies"] if c["source"] in ids]
    pairs = [p for p in run["pairs"] if p["a"] in ids and p["b"] in ids]
    return tally(copies, pairs)


NOTES = """## Notes (status: targets NOT met)

- Reduced setting: 128 x 128, **1000** Adam iterations (paper: 5000). Session 2 used 100 iterations. Its
  verdicts then differed from the reference: it false-matched the seed pair RCAN-x4-L1-s1/s2 at 0.30 eta,
  where the reference gives 1.51 eta. At 1000 iterations that pair is 1.43 eta. A 500-iteration trial on
  the same subset (session 4, not in this file) turned the fine-tuned RCAN-x4-L1-s1 copy from 0.28 eta
  (reference) into 1.91 eta, so 1000 is the cheapest setting tried that reproduces the reference.
  Session 4 extended the reference to 6 sources and 13 comparisons, at about 3-4 min per model. All
  13 verdicts are identical, including the misses: the seed pair EDSR-x4-L1-s1/s2 also false-matches at
  5000 iterations (0.78 eta), and the pruned and fine-tuned copies of RDN-x4-L1-s2 also fail (3.0 and
  1.27 eta). The misses below come from the method on these models, not from the reduced setting.
- Time: the s/model columns come from 1-thread jobs sharing the 2 cores. Measured alone with 2 threads
  (session 4, 1000 iterations): RDN-x4 27 s, DnCNN (64 x 64) 66 s, RLFN-x2 113 s, IMDN-x2 113 s. The
  <= 60 s target holds for the mini-zoo models and is missed for the imported x2 models (64 px LR input)
  and the full-resolution denoisers. The thread count changes a fingerprint slightly (2- vs 1-thread run
  of the same model: 0.00-0.05 eta apart; a fingerprint is reproducible for a fixed thread count).
  Over all 22 sources, 100 -> 1000 iterations moved copies verified from 51/66 to 51/66 (prune
  20 -> 20, fine-tune 12 -> 11, quantise 19 -> 20) and false matches from 19 to 16 of 191. The largest
  single change: the 5 % prune of RDN-x4-L1-s1 went from 9.0 to 0.85 eta.
- Fine-tuning follows the paper: 500 Adam iterations (fresh state, lr 1e-5, L1, batch 4 of 32 px HR crops,
  batch-norm statistics frozen) on BSDS500 `val` photos (the pool BSD68 comes from). The mini-zoo models
  were trained for only 400 iterations, so this "fine-tuning" is longer than their whole training. It
  improves them by +0.1 to +0.5 dB (the tiny SwinIR by +3.1 dB, the anime SRVGGNet on photos by +1.6 dB).
  7 of the 11 unverified fine-tuned copies sit between 1 and 2 eta.
- Why independent models match: eta assumes every histogram bin of two independent models' critical images
  differs by about sigma = 0.015. Same-recipe models (mini zoo: same data, same 400-iteration recipe) and
  DIV2K-trained x2 models (IMDN, RLFN, RLFN-S) give critical images whose per-bin differences are far
  smaller (RLFN vs RLFN-S: 0.13 eta at 1000 iterations), so the chi-square null hypothesis does not hold
  for them.
- A white-box second check was measured and not adopted (session 4, exploratory script): the error with
  which a model restores another model's critical image, divided by the source's own error. For the 20 SR
  sources the copies give 0.99-147x and the independent models at least 15x. For the two DnCNN denoisers,
  the copies give 1.0-1.3x and the other denoiser from 1.2x. No single threshold separates copies from
  independent models.
- Baselines and ablations: w/o TV and MaxObj at 1000 iterations (session 4); ProjCL and PoolCL at 100
  (session 2: IPGuard boundary points). Their row "critical (same subset)" comes from the 1000-iteration run.
  Without the TV term the critical images of a model and its copies are unrelated (0/9 verified). Maximising
  instead of minimising gives images alike for every model (3/3 false matches). Only the paper's objective
  verifies every copy in this subset and separates the three models.
"""


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = ["# Verification benchmark (critical-image fingerprints)", "",
             f"{m['platform']} | {m['cpu_count']} CPUs | torch {m['torch']}. The results below merge runs ("
             "one per phase; the CPU was shared with other jobs):", ""]
    lines += [f"- `{name}`: commit {q['commit']}, {q['threads']} torch thread(s), load average "
              f"{q['load_avg_start'] or float('nan'):.1f} at start / {q['load_avg_end'] or float('nan'):.1f} at end, "
              f"wall {q['wall_seconds'] or 0:.0f} s" for name, q in res.get("parts", {}).items()]
    lines += ["", f"eta = {res['eta']:.4g} (L=30, sigma=0.015, p=0.05)", ""]
    if "sources" in res:
        lines += [f"## Source models ({len(res['sources'])})", "",
                  ", ".join(f"{s['id']} ({s['task']})" for s in res["sources"]), ""]
    if res.get("attacks"):
        lines += ["## Attacks (held-out PSNR change, dB)", "", "| attack | n | mean | min | max |",
                  "|---|---|---|---|---|"]
        for name in ATTACK_NAMES:
            ch = [r["psnr_change"] for r in res["attacks"] if r["attack"] == name]
            if ch:
                lines.append(f"| {name} | {len(ch)} | {np.mean(ch):+.3f} | {np.min(ch):+.3f} | {np.max(ch):+.3f} |")
        lines.append("")

    def table(title: str, runs: dict[str, dict[str, Any]]) -> list[str]:
        out = [f"## {title}", "", "| method | setting | prune | finetune | quantize | all copies | false matches "
               "| s/model (mean / max) |", "|---|---|---|---|---|---|---|---|"]
        for name, r in runs.items():
            if "skipped" in r:
                out.append(f"| {name} | skipped: {r['skipped']} | | | | | | |")
                continue
            if "by_attack" not in r:
                continue
            ba = r["by_attack"]
            setting = f"{r['size']}px, {r['iters']} it" if "size" in r else "(subset of reduced run)"
            spm = r.get("seconds_per_model")
            sp = f"{spm['mean']:.1f} / {spm['max']:.1f}" if spm else ""
            out.append(f"| {name} | {setting} | " + " | ".join(f"{ba[n]['verified']}/{ba[n]['n']}" for n in
                       ATTACK_NAMES) + f" | {r['copies_verified']}/{r['n_copies']} | "
                       f"{r['false_matches']}/{r['n_pairs']} | {sp} |")
        return [*out, ""]

    if "reduced" in res:
        lines += table("Critical images, reduced-cost setting (all models)", {"critical": res["reduced"]})
    if "reference" in res:
        r = res["reference"]
        lines += table("Reference setting (subset)", {"critical": r})
        if "verdicts_identical_to_reduced" in r:  # absent while a reduced run is in progress
            lines += [f"Reference vs reduced verdicts identical: {r['verdicts_identical_to_reduced']} "
                      f"({r['n_compared']} comparisons)", ""]
        red = {(c["source"], c["attack"]): c["score"] for c in res.get("reduced", {}).get("copies", [])}
        redp = {(p["a"], p["b"]): p["score"] for p in res.get("reduced", {}).get("pairs", [])}
        lines += ["| reference comparison | d/eta, 5000 it | d/eta, reduced |", "|---|---|---|"]
        for c in r["copies"]:
            lines.append(f"| {c['source']} vs its {c['attack']} copy | {c['score']:.3g} | "
                         f"{red.get((c['source'], c['attack']), float('nan')):.3g} |")
        for p in r["pairs"]:
            reduced = redp.get((p["a"], p["b"]), float("nan"))
            lines.append(f"| {p['a']} vs {p['b']} | {p['score']:.3g} | {reduced:.3g} |")
        lines.append("")
    if res.get("baselines"):
        lines += table("Baselines and ablations (subset)", res["baselines"])
    if "reduced" in res and res.get("attacks"):
        dp = {(r["source"], r["attack"]): r["psnr_change"] for r in res["attacks"]}
        sc = {(c["source"], c["attack"]): c for c in res["reduced"]["copies"]}
        lines += ["## Per source: held-out PSNR change (dB) and d/eta of each attacked copy (reduced setting; "
                  "< 1 = verified)", "", "| source | task | prune | finetune | quantize |", "|---|---|---|---|---|"]
        for src in res["sources"]:
            cells = []
            for name in ATTACK_NAMES:
                c = sc.get((src["id"], name))
                d = dp.get((src["id"], name))
                cells.append("" if c is None else f"{d:+.2f} dB, {c['score']:.3g}" + ("" if c["is_copy"] else " **x**"))
            lines.append(f"| {src['id']} | {src['task']} | " + " | ".join(cells) + " |")
        lines.append("")
    if "reduced" in res:
        lines += ["## Closest independent pairs (d/eta, reduced setting)", ""]
        pairs = sorted(res["reduced"]["pairs"], key=lambda p: p["score"])[:12]
        lines += [f"- {p['a']} vs {p['b']}: {p['score']:.3g}" for p in pairs]
        worst = sorted(res["reduced"]["copies"], key=lambda c: -c["score"])[:8]
        lines += ["", "## Farthest attacked copies (d/eta, reduced setting)", ""]
        lines += [f"- {c['source']} {c['attack']}: {c['score']:.3g}" for c in worst]
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--merge"]:
        print(markdown(merge()))
    else:
        main()
