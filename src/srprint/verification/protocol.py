"""The ownership-verification benchmark protocol (issue 15), shared by ``bench/verification.py`` and the study.

Sources: every SR model and denoiser of the given zoos (the published checkpoints imported from
``../shared/data/pretrained`` and the mini zoo), attacked copies excluded.

* **Copies** of every source: prune 5/10/15 %, int8, fp16, permutation + rescaling (where the graph
  traces); fine-tune 500 / 2000 iterations and permutation + fine-tune 500 on a spread of
  :attr:`VerificationOptions.finetune_sources` sources of each population (the CPU budget).
* **Negatives**: every pair of sources of the same task. Pairs whose lineage labels share a parent
  (the multi-scale CARN-M file, mini-zoo models of one architecture and seed, which start from one
  random initialisation) are *shared-parent* pairs, reported apart; the rest are independent.
* **Null** for a pair ``(A, B)``: ``S`` between ``A`` and random re-initialisations of ``A``'s
  architecture, and between ``A`` and every other source sharing no lineage with ``A`` or ``B``
  (coverage >= 0.5): the pair, its copies and its relatives never enter its own calibration.
* **Copy band** (copy vs shared parent): calibrated on the non-published populations alone, as the
  geometric midpoint between their farthest copy and their closest significant shared-parent pair;
  the published models' copies and pairs are scored with it.

:func:`run_verification_protocol` returns the result record (the keys of
``bench/results/verification.json``), :func:`verification_markdown` its table, and :func:`mini_stage`
is the ``srprint study --preset mini`` stage that writes both to the study's ``tables/``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..config import srprint_home
from ..errors import SrprintError
from ..progress import console, make_progress
from . import lineage as lin
from .ownership import ALPHA, COPY_MAX_DISTANCE, COPY_MIN_COVERAGE, N_RANDOM, decide_lineage, lineage_ancestors

PUBLISHED = "published"  # the population name of the imported checkpoints (never used to calibrate the band)
CHEAP_ATTACKS: tuple[tuple[str, tuple[tuple[str, dict[str, Any]], ...]], ...] = (
    ("prune5", (("prune", {"percent": 5.0}),)),
    ("prune10", (("prune", {"percent": 10.0}),)),
    ("prune15", (("prune", {"percent": 15.0}),)),
    ("int8", (("quantize", {"bits": 8}),)),
    ("fp16", (("fp16", {}),)),
    ("permute+rescale", (("permute", {"seed": 1}), ("rescale", {"seed": 2}))),
)
FINETUNE_ATTACKS: tuple[tuple[str, tuple[tuple[str, dict[str, Any]], ...]], ...] = (
    ("finetune500", (("finetune", {"iters": 500}),)),
    ("finetune2000", (("finetune", {"iters": 2000}),)),
    ("permute+finetune500", (("permute", {"seed": 1}), ("finetune", {"iters": 500}))),
)
ATTACK_TAGS = tuple(tag for tag, _ in (*CHEAP_ATTACKS, *FINETUNE_ATTACKS))


def default_attacked_dir() -> Path:
    """Where attacked copies are cached: one folder for the bench and the study, so neither redoes the other's."""
    return srprint_home() / "bench" / "lineage-attacked"


def default_zoos() -> dict[str, Path]:
    """The bench's zoos by population: the imported published checkpoints and the mini zoo."""
    from ..zoo.entry import default_zoo_dir
    from ..zoo.study import pretrained_zoo_dir

    return {PUBLISHED: pretrained_zoo_dir(), "mini": default_zoo_dir("mini")}


@dataclass(frozen=True)
class VerificationOptions:
    """The protocol's knobs; the defaults are the benchmark's.

    Attributes
    ----------
    finetune_sources : int
        Sources per population that also get the fine-tuning attacks (CPU budget).
    threads : int
        Torch CPU threads while the protocol runs (restored afterwards).
    timing_pairs : int
        Published pairs timed through :func:`~.ownership.verify_models` (the CLI's path).
    attacks : tuple of str
        Which copies to make, by tag (:data:`ATTACK_TAGS`); fine-tunes only on the fine-tuned sources.
    n_random : int
        Random re-initialisations in each source's null.
    """

    finetune_sources: int = 3
    threads: int = 2
    timing_pairs: int = 4
    attacks: tuple[str, ...] = ATTACK_TAGS
    n_random: int = N_RANDOM

    def __post_init__(self) -> None:
        if self.finetune_sources < 0 or self.timing_pairs < 0 or self.threads < 1 or self.n_random < 1:
            raise SrprintError(f"bad verification options: finetune_sources {self.finetune_sources}, timing_pairs "
                               f"{self.timing_pairs} (>= 0), threads {self.threads}, n_random {self.n_random} (>= 1)")
        unknown = [a for a in self.attacks if a not in ATTACK_TAGS]
        if unknown:
            raise SrprintError(f"unknown attack(s) {', '.join(unknown)}; known: {', '.join(ATTACK_TAGS)}")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of a binomial rate ``k / n``; ``(0, 1)`` when ``n`` is 0."""
    from scipy.stats import beta as beta_dist

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta_dist.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_dist.ppf(1 - a, k + 1, n - k))
    return lo, hi


def population_name(folder: Path) -> str:
    """The population of a zoo folder named on a command line: ``published`` for imported checkpoints."""
    return PUBLISHED if "pretrained" in folder.name else folder.name


def load_sources(zoos: Mapping[str, Path]) -> list[tuple[str, Any]]:
    """``(population, entry)`` of every SR model and denoiser of ``zoos`` that is not an attacked copy.

    Raises
    ------
    SrprintError
        If a zoo folder does not exist.
    """
    from ..zoo.entry import Zoo

    out = []
    for pop, folder in zoos.items():
        if not Path(folder).is_dir():
            raise SrprintError(f"zoo folder not found: {folder}")
        for e in Zoo(folder).entries():
            if e.labels.get("attack") or e.task not in ("sr", "denoise"):
                continue
            if pop != PUBLISHED and e.labels.get("source") == "imported":
                # the study links the published SR entries into its trained zoo for the render; they
                # are sources of the published population only (counted twice, a model would be its
                # own "independent" negative)
                continue
            out.append((pop, e))
    return out


def make_copy(src: Any, steps: Sequence[tuple[str, dict[str, Any]]], root: Path, *, tag: str,
              device: str = "cpu") -> Any:
    """Apply ``steps`` (attack name, params) in turn to ``src``, caching each step under ``root/<src.id>/``."""
    from .attacks import attack_model

    cur = src
    for k, (name, params) in enumerate(steps):
        cur = attack_model(cur, name, root / src.id / f"{tag}.{k}", params=params, device=device)
    return cur


class _Lineage:
    """Captures, pairwise statistics and nulls of the sources (computed once, shared by every verdict)."""

    def __init__(self, sources: list[tuple[str, Any]], n_random: int) -> None:
        from .fingerprint import load_entry_model

        self.caps: dict[str, lin.Capture] = {}
        self.ents: dict[str, Any] = {}
        self.pops: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        with make_progress() as prog:
            task = prog.add_task("capturing sources", total=len(sources))
            for pop, e in sources:
                try:
                    self.caps[e.id] = lin.capture_model(load_entry_model(e))
                    self.ents[e.id], self.pops[e.id] = e, pop
                except Exception as exc:  # noqa: BLE001 - a source that does not load or run is reported, not fatal
                    self.failed[e.id] = f"{type(exc).__name__}: {exc}"
                prog.advance(task)
            self.ids = sorted(self.caps)
            # one statistic per ordered pair of the same task: the null of a pair is the source's
            pairs = [(x, y) for x, y in itertools.permutations(self.ids, 2)
                     if self.ents[x].task == self.ents[y].task]
            task = prog.add_task("comparing ordered pairs", total=len(pairs))
            self.pair: dict[tuple[str, str], lin.LineageResult] = {}
            for x, y in pairs:
                self.pair[(x, y)] = lin.compare_captures(self.caps[x], self.caps[y])
                prog.advance(task)
            task = prog.add_task("random-init nulls", total=len(self.ids))
            self.rand: dict[str, Any] = {}
            for x in self.ids:
                self.rand[x] = lin.random_init_similarities(self.caps[x], load_entry_model(self.ents[x]), n_random)
                prog.advance(task)
        self.tags = {x: lineage_ancestors(self.ents[x]) for x in self.ids}

    def null_for(self, src: str, sus_tags: set[str]) -> list[float]:
        # the pair, its copies and its relatives never enter its own calibration
        vals = list(self.rand[src])
        for r in self.ids:
            if r == src or self.tags[r] & (self.tags[src] | sus_tags) or (src, r) not in self.pair:
                continue
            if self.pair[(src, r)].coverage >= lin.MIN_COVERAGE:
                vals.append(self.pair[(src, r)].similarity)
        return vals

    def verdict(self, src: str, res: lin.LineageResult, sus_tags: set[str]) -> dict[str, Any]:
        row: dict[str, Any] = {"similarity": res.similarity, "coverage": res.coverage}
        if res.coverage < lin.MIN_COVERAGE:
            return {**row, "verdict": "undecided"}
        test = lin.lineage_p_value(res.similarity, self.null_for(src, sus_tags))
        return {**row, "p_value": test["p_value"], "p_bound": test["p_bound"], "null_n": test["null_n"],
                "null_max": test["null_max"], "verdict": decide_lineage(res, test)}


def _pairs(lg: _Lineage) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    neg, shared = [], []
    for x, y in itertools.combinations(lg.ids, 2):
        if (x, y) not in lg.pair:
            continue
        row = {"source": x, "suspect": y, "populations": f"{lg.pops[x]}/{lg.pops[y]}",
               **lg.verdict(x, lg.pair[(x, y)], lg.tags[y])}
        (shared if lg.tags[x] & lg.tags[y] else neg).append(row)
    return neg, shared


def _copies(lg: _Lineage, options: VerificationOptions, attacked: Path, *, device: str,
            t0: float) -> list[dict[str, Any]]:
    from .fingerprint import load_entry_model

    cheap = [(t, s) for t, s in CHEAP_ATTACKS if t in options.attacks]
    finetune = [(t, s) for t, s in FINETUNE_ATTACKS if t in options.attacks]
    ft_sources: dict[str, list[str]] = {}
    for p in set(lg.pops.values()):  # a deterministic spread over the population, not its first ids
        members = [x for x in lg.ids if lg.pops[x] == p]
        step = max(len(members) // max(options.finetune_sources, 1), 1)
        ft_sources[p] = members[::step][: options.finetune_sources]
    rows: list[dict[str, Any]] = []
    for x in lg.ids:
        plan = cheap + (finetune if x in ft_sources[lg.pops[x]] else [])
        for tag, steps in plan:
            ts = time.perf_counter()
            try:
                c = make_copy(lg.ents[x], steps, attacked, tag=tag, device=device)
                res = lin.compare_captures(lg.caps[x], lin.capture_model(load_entry_model(c)))
            except Exception as exc:  # noqa: BLE001 - e.g. a graph fx cannot trace: reported, not fatal
                rows.append({"source": x, "population": lg.pops[x], "attack": tag, "error": str(exc)[:160]})
                continue
            v = lg.verdict(x, res, lg.tags[x] | {c.id})
            rows.append({"source": x, "population": lg.pops[x], "attack": tag, **v,
                         "psnr_change": c.metrics.get("psnr_change"), "seconds": round(time.perf_counter() - ts, 1)})
        if plan:
            console.print(f"copies of {x} done, {time.perf_counter() - t0:.0f}s", highlight=False)
    return rows


def _calibrate_band(copy_rows: list[dict[str, Any]], shared_rows: list[dict[str, Any]]) -> tuple[float, dict]:
    # calibrated on the non-published populations, never on the published models it then scores
    copies = [1 - r["similarity"] for r in copy_rows if "similarity" in r and r["population"] != PUBLISHED]
    shared = [1 - r["similarity"] for r in shared_rows if PUBLISHED not in r["populations"]
              and r.get("verdict") in ("copy", "shared parent") and r["coverage"] >= COPY_MIN_COVERAGE]
    edge = COPY_MAX_DISTANCE
    if copies and shared and max(copies) < min(shared):
        edge = math.sqrt(max(copies) * min(shared))
    return edge, {"mini_copies_max_distance": max(copies, default=None),
                  "mini_shared_parent_min_distance": min(shared, default=None)}


def _timing(lg: _Lineage, pairs: int) -> list[dict[str, Any]]:
    # through the library's CLI path (verify_models, null included), on published pairs only
    from .fingerprint import load_entry_model
    from .ownership import verify_models

    refs = [lg.ents[r] for r in lg.ids]
    out = []
    published = [i for i in lg.ids if lg.pops[i] == PUBLISHED]
    for x, y in list(itertools.combinations(published, 2))[:pairs]:
        if lg.ents[x].task != lg.ents[y].task:
            continue
        v = verify_models(lg.ents[x], lg.ents[y], load=load_entry_model, references=refs)
        out.append({"source": x, "suspect": y, "seconds": v.seconds, "verdict": v.verdict})
    return out


def _count(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r.get("verdict", "error")] = out.get(r.get("verdict", "error"), 0) + 1
    return out


def run_verification_protocol(*, zoos: Mapping[str, Path] | Sequence[Path], attacked: Path | None = None,
                              options: VerificationOptions | None = None, device: str = "cpu") -> dict[str, Any]:
    """Run the verification benchmark over ``zoos`` and return its result record.

    Parameters
    ----------
    zoos : mapping of str to Path, or sequence of Path
        Zoo folders by population; a plain sequence names each population after its folder
        (:func:`population_name`). The population ``published`` never calibrates the copy band.
    attacked : Path, optional
        Cache of the attacked copies (default :func:`default_attacked_dir`, shared with the bench).
    options : VerificationOptions, optional
        The protocol's knobs (default: the benchmark's).
    device : str
        Torch device of the attacks (fine-tuning); the lineage statistic always runs on the CPU.

    Returns
    -------
    dict
        The keys of ``bench/results/verification.json``: counts, rates, the calibrated copy band, and
        the rows (``copy_rows``, ``independent_rows``, ``shared_rows``, ``timing``).

    Raises
    ------
    SrprintError
        If a zoo folder does not exist, or no SR model or denoiser of the zoos loads and runs.
    """
    import torch

    options = options or VerificationOptions()
    attacked = Path(attacked) if attacked is not None else default_attacked_dir()
    zoo_map = dict(zoos) if isinstance(zoos, Mapping) else {population_name(Path(z)): Path(z) for z in zoos}
    threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        t0 = time.perf_counter()
        lg = _Lineage(load_sources(zoo_map), options.n_random)
        if not lg.ids:
            raise SrprintError(f"no SR model or denoiser of {', '.join(map(str, zoo_map.values()))} loads and runs"
                               f"{' (' + '; '.join(lg.failed.values())[:200] + ')' if lg.failed else ''}")
        console.print(f"{len(lg.ids)} sources captured ({len(lg.failed)} failed), {len(lg.pair)} ordered pairs "
                      f"compared, {time.perf_counter() - t0:.0f}s", highlight=False)
        neg_rows, shared_rows = _pairs(lg)
        copy_rows = _copies(lg, options, attacked, device=device, t0=t0)
        edge, band_inputs = _calibrate_band(copy_rows, shared_rows)
        for row in [*copy_rows, *neg_rows, *shared_rows]:  # every verdict re-decided with the calibrated band
            if "p_value" in row:
                row["verdict"] = decide_lineage(SimpleNamespace(similarity=row["similarity"],
                                                                coverage=row["coverage"]),
                                                row, ALPHA, copy_max_distance=edge)
        timing = _timing(lg, options.timing_pairs)
    finally:
        torch.set_num_threads(threads)
    scored = [r for r in copy_rows if "verdict" in r]
    decided_neg = [r for r in neg_rows if "p_value" in r]
    fm = sum(max(r["p_value"], r["p_bound"]) < ALPHA for r in decided_neg)
    return {"sources": len(lg.ids), "failed_sources": lg.failed,
            "populations": {p: sum(v == p for v in lg.pops.values()) for p in sorted(set(lg.pops.values()))},
            "alpha": ALPHA, "copy_max_distance": COPY_MAX_DISTANCE, "copy_band_calibrated": edge,
            "copy_band_inputs": band_inputs,
            "copies": _count(scored), "copies_total": len(scored),
            "copies_verified": sum(r["verdict"] == "copy" for r in scored),
            "copy_errors": [r for r in copy_rows if "error" in r],
            "independent": _count(neg_rows), "independent_total": len(neg_rows),
            "false_copy": sum(r["verdict"] == "copy" for r in neg_rows),
            "false_match_rate": fm / max(len(decided_neg), 1),
            "false_match_ci95": clopper_pearson(fm, len(decided_neg)),
            "shared_parent": _count(shared_rows), "timing": timing, "seconds": round(time.perf_counter() - t0, 1),
            "copy_rows": copy_rows, "independent_rows": neg_rows, "shared_rows": shared_rows}


def _fmt_counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))


def _attack_lines(r: dict[str, Any]) -> list[str]:
    lines = ["## Copies by attack", "",
             "| attack | n | copy | other verdicts | min S | max 1 - S | PSNR change (dB) |",
             "|---|---:|---:|---|---:|---:|---|"]
    by: dict[str, list[dict[str, Any]]] = {}
    for row in r["copy_rows"]:
        if "verdict" in row:
            by.setdefault(row["attack"], []).append(row)
    for att, rows in by.items():
        other = _fmt_counts({k: v for k, v in _count(rows).items() if k != "copy"}) or "-"
        ps = [x["psnr_change"] for x in rows if x.get("psnr_change") is not None]
        psnr = f"{min(ps):+.2f} .. {max(ps):+.2f}" if ps else "-"
        lines.append(f"| {att} | {len(rows)} | {sum(x['verdict'] == 'copy' for x in rows)} | {other} | "
                     f"{min(x['similarity'] for x in rows):.5f} | {max(1 - x['similarity'] for x in rows):.2e} | "
                     f"{psnr} |")
    failed = sorted({e["attack"] + " on " + e["source"].split("-")[0] for e in r["copy_errors"]})
    return [*lines, "", f"Attacks that could not be applied: {len(r['copy_errors'])} ({', '.join(failed)})", ""]


def verification_markdown(r: dict[str, Any]) -> str:
    """The Markdown table of a :func:`run_verification_protocol` result (title first, as ``write_table`` wants).

    Raises
    ------
    KeyError
        If ``r`` lacks a key of the result record.
    """
    band = r["copy_band_inputs"]
    lines = ["# Ownership verification by parameter lineage (issue 15)", ""]
    lines += [f"{r['sources']} sources ({_fmt_counts(r['populations'])}); "
              f"{len(r['failed_sources'])} failed to load or run on the probe: "
              f"{', '.join(r['failed_sources']) or 'none'}. Significance level alpha = {r['alpha']:g}; "
              f"copy band used for every verdict below: 1 - S <= {r['copy_band_calibrated']:.3g}, the geometric "
              f"midpoint between the farthest mini-zoo copy ({band['mini_copies_max_distance']}) "
              f"and the closest mini-zoo shared-parent pair ({band['mini_shared_parent_min_distance']})"
              f" (library default {r['copy_max_distance']:g}). Total {r['seconds']:.0f} s.", ""]
    ci = r["false_match_ci95"]
    lines += ["## Targets", "",
              "| target | result |", "|---|---|",
              f"| 100 % of copies verified | {r['copies_verified']}/{r['copies_total']} "
              f"({_fmt_counts(r['copies'])}) |",
              f"| 0 false *copy* verdicts over independent pairs | {r['false_copy']} of {r['independent_total']} "
              f"({_fmt_counts(r['independent'])}) |",
              f"| calibrated false-match rate (p and Cantelli bound < alpha) | {r['false_match_rate']:.4f}, 95 % CI "
              f"[{ci[0]:.4f}, {ci[1]:.4f}] |",
              f"| lineage verdict <= 5 s per pair | "
              f"{max((t['seconds'] for t in r['timing']), default=float('nan')):.1f} s max over "
              f"{len(r['timing'])} published pairs (verify_models, in process) |", "",
              f"Shared-parent pairs (reported apart): {_fmt_counts(r['shared_parent'])}.", ""]
    lines += _attack_lines(r)
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


def mini_stage(ctx: Any, *, options: VerificationOptions | None = None) -> dict[str, Any]:
    """``srprint study --preset mini`` stage: the verification table over the mini zoo and the published models.

    Parameters
    ----------
    ctx : StudyContext
        The study's context (duck-typed): ``results["zoo"]`` names the mini zoo (``zoo``) and the
        imported published checkpoints (``pretrained_zoo``, None when absent); ``tables_dir`` and
        ``device`` are used as they are.
    options : VerificationOptions, optional
        The protocol's knobs (default: the benchmark's, so the table matches ``bench/results/``).

    Returns
    -------
    dict
        A JSON-serialisable summary: the table's files, the headline numbers and the targets met.

    Raises
    ------
    SrprintError
        If a zoo folder is missing or none of its models loads (see :func:`run_verification_protocol`).
    """
    from ..result_tables import write_table

    zoo_summary = ctx.results.get("zoo") or {}
    zoos: dict[str, Path] = {}
    if zoo_summary.get("pretrained_zoo"):
        zoos[PUBLISHED] = Path(zoo_summary["pretrained_zoo"])
    trained = Path(zoo_summary.get("zoo") or ctx.zoo_dir)
    zoos[trained.name] = trained  # "mini" (or "paper"): the population that calibrates the copy band
    result = run_verification_protocol(zoos=zoos, options=options, device=ctx.device)
    json_path, md_path = write_table(ctx.tables_dir, "verification", result, verification_markdown(result))
    slowest = max((t["seconds"] for t in result["timing"]), default=None)
    return {"table": str(json_path), "markdown": str(md_path), "zoos": {k: str(v) for k, v in zoos.items()},
            "sources": result["sources"], "populations": result["populations"],
            "copies_verified": result["copies_verified"], "copies_total": result["copies_total"],
            "false_copy": result["false_copy"], "independent_total": result["independent_total"],
            "false_match_rate": result["false_match_rate"], "false_match_ci95": list(result["false_match_ci95"]),
            "copy_band_calibrated": result["copy_band_calibrated"], "max_seconds_per_pair": slowest,
            "targets": {"all_copies_verified": result["copies_verified"] == result["copies_total"],
                        "no_false_copy": result["false_copy"] == 0,
                        "seconds_per_pair_at_most_5": None if slowest is None else slowest <= 5.0}}
