"""Benchmark protocol of verification v3 (issue 26): edits an adversary can make for free, resumable.

Every scored item (a copy of a source, or an independent pair) is one JSON line in
``<work>/items.jsonl``, written as soon as it is decided; a rerun skips finished items. Attacked copies
are cached under ``<work>/attacked/<source>/``. Each item carries the v3 verdict (function first, then
lineage v3) and the previous method's verdict on the same pair (lineage v2 with its old rules: the
distribution-free bound failing alone said *independent*, no functional stage), side by side.

* **Sources**: deterministic, every family that imports: one published SR model per (family), one
  published denoiser per family, and the mini zoo's ``{ARCH}-bsds-x2-L1-s1``. The mini zoo's
  ``{ARCH}-bsds-x4-L1-s1`` are *calibration sources*: their copies set the copy band and are never scored.
* **Edits**: :data:`EXACT_EDITS` (function-preserving), each alone, two combinations, each followed by
  int8, and on ``finetune_sources`` sources each followed by 500 fine-tuning steps at lr 1e-4 (the four of
  :data:`FINETUNED_EDITS` first); channel pruning with recovery fine-tuning; the earlier attacks (prune,
  fp16, int8, fine-tune).
* **Negatives**: for each source, up to ``negatives_per_source`` same-task models sharing no lineage tag
  with it (:func:`~.ownership.lineage_ancestors`): a spread of 24, then seed siblings and same-family
  published models (the source's architecture), then a spread of the rest.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SrprintError
from ..rates import wilson_interval

EXACT_EDITS: tuple[tuple[str, tuple[tuple[str, dict[str, Any]], ...]], ...] = (
    ("mix", (("mix", {"cond": 1.0}),)),
    ("mix100", (("mix", {"cond": 100.0, "seed": 1}),)),
    ("signflip", (("signflip", {}),)),
    ("identity-start", (("insert-identity", {"depth": 0.0}),)),
    ("identity-block-middle", (("insert-identity", {"depth": 0.5, "kind": "block"}),)),
    ("identity-end", (("insert-identity", {"depth": 1.0}),)),
    ("widen", (("widen", {"extra": 4}),)),
    ("padkernel", (("padkernel", {}),)),
    ("permute", (("permute", {"seed": 2}),)),
    ("rescale", (("rescale", {"seed": 3}),)),
    ("signflip+identity", (("signflip", {"seed": 4}), ("insert-identity", {"depth": 0.5, "kind": "block"}))),
    ("mix+identity", (("mix", {"cond": 10.0, "seed": 5}), ("insert-identity", {"depth": 0.0}))),
)
SMALL_CHANGES: tuple[tuple[str, tuple[tuple[str, dict[str, Any]], ...]], ...] = (
    ("int8", (("quantize", {"bits": 8}),)),
    ("fp16", (("fp16", {}),)),
    ("prune10", (("prune", {"percent": 10.0}),)),
)
FINETUNE = ("finetune", {"iters": 500, "lr": 1e-4})
# the method's version in each row: "v3.1" compares same-width layers of different kernel sizes on their
# common central taps in v2's frame too; "v3.2" tells another architecture by its layer kinds, not shapes
# (rows without a method ran before both); "v3.3" fills the lineage null's trained half with the independent
# models closest in size to the suspect instead of the first references (ownership.lineage_references);
# "v3.4" (withdrawn: it widened small networks' nulls) compared layers whose widths differ in v2's frame too,
# on the channels they share; "v3.5" does so only for a suspect layer that is its source's widened, by at most
# 4/3 on both sides, and pairs layers on at most 1024 probe positions (alignment.narrowed, PAIRING_POSITIONS);
# "v3.6" (withdrawn after 1000+ rows: it widened the nulls, so fine-tuned copies and lineage links were lost)
# added the cosine after a signed channel permutation found from the weights alone (weight_matching);
# "v3.7" adds the identity frame to same-shape layers (alignment.identity_frame): the canonical weights with
# no channel matched (made after SPAN's int8 copies came out undecided: their activations decorrelate)
METHOD = "v3.7"
FINETUNED_EDITS = ("mix", "identity-block-middle", "padkernel", "signflip")


@dataclass(frozen=True)
class ProtocolV3Options:
    """Knobs of the v3 protocol (defaults: the committed run's)."""

    negatives_per_source: int = 30
    finetune_sources: int = 6  # scored sources that get fine-tuned copies; 0: no fine-tuned copy, calibration's too
    max_seconds: float = 3600.0  # stop cleanly after this long (the rerun resumes)
    threads: int = 1
    redo: tuple[str, ...] = ()  # items whose key contains one of these are run again (the latest row counts)
    only_redo: bool = False  # run those items and nothing else
    skip: tuple[str, ...] = ()  # items whose key contains one of these are not run now (a partial rerun that
    # leaves the slow ones, e.g. the fine-tuned copies, for later; they keep their latest row)
    legacy: bool = True  # also the previous method's verdict (v2: its null re-captures every reference per arch)
    kinds: tuple[str, ...] = ()  # run only items of these kinds (negative, copy-scored, copy-calibration); all if empty
    int8_after: bool = True  # every scored source's exact edits followed by int8 (a study leaves them out)


def select_sources(published: Path | None, mini: Path) -> tuple[list[Any], list[Any], list[Any]]:
    """``(scored sources, calibration sources, population)`` (module docstring); ``published`` may be None."""
    from ..zoo.entry import Zoo

    pop = [e for folder in (published, mini) if folder is not None and Path(folder).is_dir()
           for e in Zoo(folder).entries()
           if not e.labels.get("attack") and e.task in ("sr", "denoise")
           and not (folder == mini and e.labels.get("source") == "imported")]
    by_family: dict[tuple[str, str], Any] = {}
    for e in sorted(pop, key=lambda e: (e.scale, e.id)):
        if e.source == "imported" or e.id.endswith("-pretrained"):
            fam = e.id.split("_", 1)[0].split("-x", 1)[0]
            by_family.setdefault((fam, e.task), e)
    scored = sorted(by_family.values(), key=lambda e: e.id)
    scored += sorted((e for e in pop if e.id.endswith("-bsds-x2-L1-s1")), key=lambda e: e.id)
    calibration = sorted((e for e in pop if e.id.endswith("-bsds-x4-L1-s1")), key=lambda e: e.id)
    return scored, calibration, pop


def _spread(items: list[Any], limit: int) -> list[Any]:
    if limit <= 0:
        return []
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def negatives_for(source: Any, population: list[Any], limit: int, *, spread: int = 24) -> list[Any]:
    """Same-task models sharing no lineage tag with ``source``: a deterministic spread of ``spread`` of them,
    then the hardest of the rest (the source's architecture: seed siblings, same-family published models),
    then a spread of the others, at most ``limit`` in all."""
    from .ownership import lineage_ancestors

    tags = lineage_ancestors(source)
    pool = sorted((e for e in population if e.task == source.task and e.id != source.id
                   and not (lineage_ancestors(e) & tags)), key=lambda e: e.id)
    out = _spread(pool, min(spread, limit))
    rest = [e for e in pool if e not in out]
    hard = [e for e in rest if e.arch == source.arch]
    others = [e for e in rest if e.arch != source.arch]
    return (out + hard + _spread(others, max(limit - len(out) - len(hard), 0)))[:limit]


def legacy_verdict(source: Any, suspect: Any, refs: list[Any], *, load: Any, cache: dict[Any, Any]) -> str:
    """The previous method's verdict (lineage v2, its old decision rules, no functional stage)."""
    from . import lineage as lin
    from .ownership import COPY_MAX_DISTANCE, COPY_MIN_COVERAGE, N_RANDOM

    key = ("v2cap", str(source.path))
    if key not in cache:
        cache[key] = lin.capture_model(load(source))
    cap = cache[key]
    res = lin.compare_captures(cap, lin.capture_model(load(suspect)))
    if res.coverage < lin.MIN_COVERAGE:
        return "undecided"
    nkey = ("v2null", str(source.path), suspect.arch)
    if nkey not in cache:
        sims = lin.random_init_similarities(cap, load(suspect), N_RANDOM)
        for ref in refs:
            try:
                r = lin.compare_captures(cap, lin.capture_model(load(ref)))
            except (lin.LineageError, RuntimeError, ValueError):
                continue
            if r.coverage >= lin.MIN_COVERAGE:
                sims.append(r.similarity)
        cache[nkey] = sims
    test = lin.lineage_p_value(res.similarity, cache[nkey])
    if test["p_value"] >= 1e-3 or test["p_bound"] >= 1e-3 or res.similarity <= test["null_max"]:
        return "independent"
    if res.coverage >= COPY_MIN_COVERAGE and 1.0 - res.similarity <= COPY_MAX_DISTANCE:
        return "copy"
    return "shared parent"


def all_rows(items: Path) -> list[dict[str, Any]]:
    """Every row of ``items`` in the order written (a line cut short by a kill is skipped: its item is redone)."""
    out = []
    if items.is_file():
        for line in items.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _done(items: Path) -> dict[str, dict[str, Any]]:
    """The latest row of each item in ``items``."""
    return {row["key"]: row for row in all_rows(items)}


def _append(items: Path, row: dict[str, Any]) -> None:
    with open(items, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, default=float) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


Job = tuple[str, Any, str, str, Any]  # key, source, kind, edit tag, steps (a copy) or the suspect (a negative)


def _copy_jobs(src: Any, role: str, edits: tuple[tuple[str, Any], ...]) -> Iterator[Job]:
    for tag, steps in edits:
        yield f"{src.id}|{tag}", src, f"copy-{role}", tag, steps


def _jobs(sources: list[Any], calibration: list[Any], population: list[Any],
          options: ProtocolV3Options) -> Iterator[Job]:
    """The items in the order they run, in passes over the sources so that a partial run covers every
    source and every kind of item: the calibration sources' lineage-decided copies first, fine-tuned ones
    included (the copy band needs them, and they are small models); then every scored source's exact edits
    and small changes; its first 12 negatives; the first five fine-tuned copies of the fine-tuned sources;
    every source's exact edits followed by int8; the remaining negatives; the remaining fine-tuned copies."""
    int8_after = tuple((f"{tag}+int8", (*steps, ("quantize", {"bits": 8}))) for tag, steps in EXACT_EDITS)
    finetuned = (("finetune500", (FINETUNE,)), *((f"{t}+finetune500", (*st, FINETUNE)) for t, st in EXACT_EDITS
                                                if t in FINETUNED_EDITS),
                 *((f"{t}+finetune500", (*st, FINETUNE)) for t, st in EXACT_EDITS if t not in FINETUNED_EDITS),
                 ("prune-channels10", (("prune-channels", {"percent": 10.0, "recover": 200}),)))
    finetuned_sources = sorted(sources, key=lambda e: e.id)[: options.finetune_sources]
    negatives = {src.id: negatives_for(src, population, options.negatives_per_source) for src in sources}

    def negative_jobs(src: Any, part: slice) -> Iterator[Job]:
        for other in negatives[src.id][part]:
            yield f"{src.id}|neg|{other.id}", src, "negative", "independent", other

    for src in calibration:
        yield from _copy_jobs(src, "calibration", (*SMALL_CHANGES, *int8_after))
    for src in calibration if options.finetune_sources > 0 else ():  # no fine-tuning asked: none at all
        yield from _copy_jobs(src, "calibration", finetuned[:2])
    for src in sources:
        yield from _copy_jobs(src, "scored", (*EXACT_EDITS, *SMALL_CHANGES))
    for src in sources:
        yield from negative_jobs(src, slice(0, 12))
    for src in finetuned_sources:
        yield from _copy_jobs(src, "scored", finetuned[:5])
    for src in sources if options.int8_after else ():
        yield from _copy_jobs(src, "scored", int8_after)
    for src in sources:
        yield from negative_jobs(src, slice(12, None))
    for src in finetuned_sources:
        yield from _copy_jobs(src, "scored", finetuned[5:])


def remaining_items(sources: list[Any], calibration: list[Any], population: list[Any],
                    options: ProtocolV3Options, rows: list[dict[str, Any]]) -> int:
    """How many of the items ``options`` selects have no row yet (a partial run's results say so)."""
    keys = {r["key"] for r in rows}
    return sum(1 for j in _jobs(sources, calibration, population, options) if j[0] not in keys)


def run_protocol_v3(*, work: Path, published: Path | None, mini: Path,
                    options: ProtocolV3Options | None = None) -> list[dict[str, Any]]:
    """Run (or resume) the protocol; returns every item row written so far.

    Raises
    ------
    SrprintError
        If neither zoo holds a source.
    """
    import torch

    from .fingerprint import load_entry_model
    from .ownership import memoised, select_references, verify_models
    from .protocol import make_copy

    options = options or ProtocolV3Options()
    sources, calibration, population = select_sources(published, mini)
    if not sources:
        raise SrprintError(f"no source models in {published} or {mini}")
    work.mkdir(parents=True, exist_ok=True)
    items = work / "items.jsonl"
    done = _done(items)
    torch.set_num_threads(options.threads)
    t_start, cache, current = time.perf_counter(), {}, None
    load = memoised(load_entry_model)
    for key, src, kind, tag, what in _jobs(sources, calibration, population, options):
        redo = any(r in key for r in options.redo)
        if ((options.only_redo and not redo) or (options.kinds and kind not in options.kinds)
                or any(x in key for x in options.skip)):
            continue
        if done.get(key, {}).get("status") == "ok" and not (redo and done[key].get("method") != METHOD):
            continue  # a failed item is tried again (its latest row counts)
        if time.perf_counter() - t_start > options.max_seconds:
            break
        if current != src.id:  # one source at a time: its capture, outputs and nulls are reused
            cache, current, load = {}, src.id, memoised(load_entry_model)
        t0 = time.perf_counter()
        row: dict[str, Any] = {"key": key, "source": src.id, "kind": kind, "edit": tag, "family": src.arch,
                               "method": METHOD}
        try:
            suspect = what if kind == "negative" else make_copy(src, what, work / "attacked", tag=tag)
            row["psnr_change"] = (suspect.metrics or {}).get("psnr_change") if kind != "negative" else None
            t0 = time.perf_counter()  # the verdict's time, not the attack's
            v = verify_models(src, suspect, load=load, references=population, cache=cache)
            t_v3 = time.perf_counter() - t0
            refs = select_references(population, src, suspect)
            # a rerun keeps the v2 verdict the item had (v2 did not change); a new item gets one unless told not to
            old = done.get(key, {}).get("verdict_v2")
            if old in (None, "not run"):
                old = legacy_verdict(src, suspect, refs, load=load, cache=cache) if options.legacy else "not run"
        except (SrprintError, RuntimeError, ValueError) as exc:
            row.update(status="failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            _append(items, row)
            continue
        lin = v.lineage or {}
        f = v.functional or {}
        row.update(status="ok", suspect=suspect.id, verdict=v.verdict, verdict_v2=old,
                   agreement_db=f.get("agreement_db"), function=f.get("decision"),
                   similarity=lin.get("similarity"), coverage=lin.get("coverage"), p_value=lin.get("p_value"),
                   p_bound=lin.get("p_bound"), null_n=lin.get("null_n"), kind_coverage=lin.get("kind_coverage"),
                   p_exact=lin.get("p_exact"),  # the population-free test, kept for rules judged on rows later
                   decided_by=lin.get("decided_by"), seconds_v3=round(t_v3, 2),
                   load_average=round(os.getloadavg()[0], 2))
        _append(items, row)
    return list(_done(items).values())


def _rate(k: int, n: int) -> dict[str, Any]:
    lo, hi = wilson_interval(k, n)
    return {"k": k, "n": n, "rate": k / n if n else None, "wilson95": [lo, hi]}


def calibrate_band(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The copy band ``1 - S``: the farthest of the calibration sources' lineage-decided copies (never a
    scored row); ``None`` with fewer than 3. (The Student-t predictive 99.9 % bound of ``log(1 - S)`` is
    reported beside it: the distances span four decades, so that bound is far looser than any copy seen.)"""
    import numpy as np
    from scipy.stats import t as student_t

    d = [1.0 - r["similarity"] for r in rows if r.get("kind") == "copy-calibration" and r.get("status") == "ok"
         and r.get("similarity") is not None and r.get("function") != "same" and r.get("p_value") is not None
         and r["p_value"] < 1e-3]
    out: dict[str, Any] = {"band": None, "n": len(d),
                           "data": "copies of the mini zoo's {ARCH}-bsds-x4-L1-s1 (calibration sources, never scored)"}
    if len(d) < 3:
        return out
    z = np.log(np.maximum(d, 1e-12))
    m = z.size
    hi = float(z.mean() + student_t.ppf(0.999, m - 1) * z.std(ddof=1) * np.sqrt(1 + 1 / m))
    return {**out, "band": float(max(d)), "t_bound_999": float(np.exp(hi)), "median_distance": float(np.median(d))}


def redecide(row: dict[str, Any], band: float | None) -> str:
    """A scored row's verdict under the calibrated copy band (lineage copy / shared parent split), and under
    the rules :func:`~.ownership.verify_models` gained after the row was run: an inconclusive lineage test on
    another architecture (v2's shape pairing undecided) whose outputs are no closer than independent
    models' is *independent*; on the same architecture, with outputs closer than independent models', it is
    related (*copy* or *shared parent* by the band); that tie-break, and any *shared parent*, need 3 trained
    models in the null."""
    from .ownership import MIN_TRAINED_FOR_TIE, N_RANDOM
    from .verdict_text import WEIGHTS_AND_FUNCTION

    # the null's trained models: its size less the random re-initialisations (None for a function-decided row)
    few_trained = row.get("null_n") is not None and row["null_n"] - N_RANDOM < MIN_TRAINED_FOR_TIE

    if (row.get("kind_coverage") is None and row.get("verdict") == "undecided" and row.get("p_value") is not None
            and row.get("function") == "not closer" and row.get("verdict_v2") == "undecided"):
        return "independent"  # a row run before the library had the rule (v2's pairing stands in for the shapes)
    if (row.get("kind_coverage") is None and row.get("verdict") == "undecided" and row.get("function") == "closer"
            and row.get("verdict_v2") != "undecided" and row.get("p_value") is not None):
        # added after two scored rows (FSRCNN-small int8 / prune10) were inconclusive: the same architecture,
        # weights and outputs both closer than independent models' (ownership.WEIGHTS_AND_FUNCTION); the
        # results count the rows it changed
        row = {**row, "verdict": "shared parent"}  # related; the band below splits copy from shared parent
    if row.get("decided_by") == WEIGHTS_AND_FUNCTION and few_trained:
        # added after RLFN x2 against IMDN x2 (a null of 8 random re-initialisations and 1 trained model) was
        # called shared parent by the tie-break: it now needs 3 trained models in the null
        return "undecided"
    if band is None or row.get("verdict") not in ("copy", "shared parent") or row.get("function") == "same":
        final = row.get("verdict", "undecided")
    else:
        final = "copy" if (row.get("coverage") or 0) >= 0.9 and 1.0 - row["similarity"] <= band else "shared parent"
    if final == "shared parent" and few_trained:
        # added after a lineage index (whose reference pool held no model that paired with the source) linked
        # rfdn x4 and imdn x4 as shared parent: a shared parent needs 3 trained models in the null too
        return "undecided"
    return final


def summarise_v3(rows: list[dict[str, Any]], *, current_rows: list[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """Counts, rates with Wilson intervals, and the targets, from the item rows (verdicts re-decided with
    the copy band calibrated on the calibration sources). ``current_rows``: the current method's rows when its
    rerun is partial (:func:`.protocol_v3_rows.headline_and_current`), summarised apart with the band their
    own calibration rows give (the headline's while they have fewer than 3); by default, ``rows`` of the
    current method."""
    band = calibrate_band(rows)
    ok = [{**r, "verdict": redecide(r, band["band"])} for r in rows if r.get("status") == "ok"]
    if current_rows is None:
        current_ok = [r for r in ok if r.get("method") == METHOD]
        current_band = band
    else:
        own = calibrate_band(current_rows)
        current_band = own if own["band"] is not None else band
        current_ok = [{**r, "verdict": redecide(r, current_band["band"])} for r in current_rows
                      if r.get("status") == "ok" and r.get("method") == METHOD]
    raw = {r["key"]: r.get("verdict") for r in rows if r.get("status") == "ok"}
    scored = [r for r in ok if r["kind"] == "copy-scored"]
    exact_tags = {t for t, _ in EXACT_EDITS}
    exact = [r for r in scored if r["edit"] in exact_tags]
    changed = [r for r in scored if r["edit"] not in exact_tags]
    neg = [r for r in ok if r["kind"] == "negative"]
    decided = [r for r in neg if r["verdict"] != "undecided"]

    def count(rs: list[dict[str, Any]], key: str = "verdict") -> dict[str, int]:
        out: dict[str, int] = {}
        for r in rs:
            out[r[key]] = out.get(r[key], 0) + 1
        return out

    by_edit: dict[str, dict[str, Any]] = {}
    for r in scored:
        d = by_edit.setdefault(r["edit"], {"n": 0, "v3": {}, "v2": {}, "psnr": []})
        d["n"] += 1
        d["v3"][r["verdict"]] = d["v3"].get(r["verdict"], 0) + 1
        d["v2"][r["verdict_v2"]] = d["v2"].get(r["verdict_v2"], 0) + 1
        if r.get("psnr_change") is not None:
            d["psnr"].append(r["psnr_change"])

    def copies(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return _rate(sum(r["verdict"] == "copy" for r in rs), len(rs))

    def linked(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return _rate(sum(r["verdict"] in ("copy", "shared parent") for r in rs), len(rs))

    current_scored = [r for r in current_ok if r["kind"] == "copy-scored"]
    current_neg = [r for r in current_ok if r["kind"] == "negative"]
    current_decided = [r for r in current_neg if r["verdict"] != "undecided"]

    timed = [r["seconds_v3"] for r in neg + scored if r["verdict"] != "undecided"]
    return {
        "copy_band": band,
        "sources_scored": sorted({r["source"] for r in scored}),
        "sources_calibration": sorted({r["source"] for r in ok if r["kind"] == "copy-calibration"}),
        "exact": {"v3": count(exact), "v2": count(exact, "verdict_v2"), **copies(exact)},
        "changed": {"v3": count(changed), "v2": count(changed, "verdict_v2"), **copies(changed)},
        "negatives": {"v3": count(neg), "v2": count(neg, "verdict_v2"), "decided": len(decided),
                      "false_links": linked(decided),
                      "undecided": _rate(len(neg) - len(decided), len(neg))},
        "by_edit": by_edit,
        "seconds_decided": {"n": len(timed), "median": sorted(timed)[len(timed) // 2] if timed else None,
                            "max": max(timed) if timed else None},
        "failed": [f"{r['key']}: {r.get('error')}" for r in rows if r.get("status") == "failed"],
        "rows_by_method": count([{**r, "method": r.get("method") or "v3.0"} for r in ok], "method"),
        "current_method": {  # a partial rerun: the rows the current method decided, on their own
            "method": METHOD, "exact": copies([r for r in current_scored if r["edit"] in exact_tags]),
            "changed": copies([r for r in current_scored if r["edit"] not in exact_tags]),
            "false_links": linked(current_decided), "negatives": len(current_neg),
            "undecided": _rate(len(current_neg) - len(current_decided), len(current_neg)),
            "copy_band": current_band["band"], "copy_band_n": current_band["n"],
            "copy_band_own": current_band is not band,
            "calibration_rows": sum(r["kind"] == "copy-calibration" for r in current_ok),
            "by_edit": {tag: count([r for r in current_scored if r["edit"] == tag])
                        for tag in sorted({r["edit"] for r in current_scored})},
            "partial": current_rows is not None},
        "related_made_undecided": sorted(f"{r['key']}: {raw.get(r['key'])}" for r in ok if r["verdict"] == "undecided"
                                         and raw.get(r["key"]) in ("copy", "shared parent")),
        "post_hoc_weights_and_function": sorted(
            f"{r['key']}: {r['verdict']}" for r in ok if r["verdict"] != raw.get(r["key"])
            and raw.get(r["key"]) == "undecided" and r.get("function") == "closer"),
    }
