"""The parsing, verification, trace and provenance sections filled from result tables.

``parsing_mini_table`` / ``_fen`` / ``_imported`` give the held-out parser table beside the study's
Table 5, FEN+PN against its baselines and the predictions on imported models; ``verification_v3`` the
v3 benchmark's targets and verdicts by edit; ``verification`` the copies by attack, the verdicts of the
other pairs and their heat map; ``trace`` its headline; every
table's ``machine`` record the provenance table.
"""

from __future__ import annotations

from typing import Any

from .section import Section
from .tables import (
    ResultTables,
    add_guarded,
    add_table,
    as_dict,
    as_list,
    command_for,
    dict_rows,
    fixed,
    num,
    pct,
    sci,
)

PARSING_TABLES = ("parsing_mini_table", "parsing_mini_fen", "parsing_mini_imported")
FEN_METRICS = (("l1", "L1 (lower better)"), ("f1_discrete", "F1 discrete"), ("f1_coarse", "F1 coarse loss"),
               ("f1_fine", "F1 fine loss"))
# the protocols of the imported-model parsers (key in parsing_mini_imported, name shown)
IMPORTED_PROTOCOLS = (("imported", "zoo only, all targets"), ("imported_zoo_only_centre", "zoo only"),
                      ("imported_zoo_only", "zoo only"), ("imported_family_out_centre", "zoo + other families"),
                      ("imported_family_out", "zoo + other families"))


def _counts(counts: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in as_dict(counts).items())


def predicted(shares: Any) -> str:
    """A parser's prediction shares as text, largest first, zeros left out (``2 90%, 4 10%``)."""
    items = [(str(k), num(v)) for k, v in as_dict(shares).items()]
    items = sorted(((k, v) for k, v in items if v), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {100 * v:.0f}%" for k, v in items) or "-"


# --- parsing ----------------------------------------------------------------------------------------


def _heldout(part: Section, data: dict[str, Any]) -> None:
    ht = as_dict(data.get("heldout_table"))
    rows = [[c.get("target"), c.get("holdout"), pct(c.get("accuracy")), pct(c.get("chance")),
             c.get("reference", "-"), c.get("n_test", "-"), c.get("test_models", "-"), c.get("status", "")]
            for c in dict_rows(ht.get("cells"))]
    if not rows:
        return
    tiles = num(ht.get("tiles"))
    crops = f"{int(tiles)} x {int(tiles)} crops per image" if tiles and tiles > 1 else "centre crop"
    part.tables.append({"caption": f"held-out parsers: each trained without the held-out models and tested on them "
                                   f"({crops}), with the study's Table 5 range beside",
                        "columns": ["target", "held out", "test accuracy", "chance", "study (Table 5) %",
                                    "test images", "test models", "status"], "rows": rows})
    tgt = as_dict(data.get("target_scale_arch_heldout"))
    if tgt:
        part.facts.append(("scale parser, architecture held out",
                           f"worst {pct(tgt.get('min_accuracy'))} (target {pct(tgt.get('target'), 0)}: "
                           f"{'met' if tgt.get('met') else 'MISSED'})"))
    if data.get("note"):
        part.notes.append(f"parsing_mini_table: {data['note']}")


def _fen(part: Section, data: dict[str, Any]) -> None:
    rows = []
    for variant, by_images in as_dict(data.get("fen_cv")).items():
        by_images = as_dict(by_images)
        for images, m in by_images.items():
            if isinstance(m, dict):
                rows.append([variant, images, *[fixed(m.get(k), 3) for k, _ in FEN_METRICS],
                             fixed(by_images.get("detection_auc"), 3), fixed(by_images.get("attribution_accuracy"), 3)])
    if not rows:
        return
    part.tables.append({"caption": f"FEN+PN against the no-fingerprint (nofp) and random-ground-truth (randomgt) "
                                   f"baselines: leave-models-out CV, mean over {data.get('fen_cv_folds', '?')} folds, "
                                   "per number of images aggregated",
                        "columns": ["variant", "images", *[lab for _, lab in FEN_METRICS], "detection AUC",
                                    "attribution acc."], "rows": rows})
    better = as_dict(data.get("fen_better_than_baselines"))
    if better:
        lost = [f"{k} ({', '.join(m for m, ok in as_dict(v).items() if not ok)})"
                for k, v in better.items() if not all(as_dict(v).values())]
        won = len(better) - len(lost)
        part.facts.append(("FEN+PN vs baselines", f"better on every metric in {won} of {len(better)} "
                                                  "(images / baseline) comparisons"))
        if lost:
            part.notes.append("FEN+PN not better in (images/baseline: metrics): " + "; ".join(lost))


def _imported(part: Section, data: dict[str, Any]) -> None:
    summary_rows = []
    for key, name in IMPORTED_PROTOCOLS:
        res = as_dict(data.get(key))
        s = as_dict(res.get("summary"))
        if not s:
            continue
        tiles = num(res.get("tiles"))
        summary_rows.append([name, "centre" if tiles == 1 else f"{int(tiles or 0)} x {int(tiles or 0)}",
                             f"{pct(s.get('scale_accuracy'))} of {s.get('scale_images', '-')}",
                             f"{pct(s.get('scale_model_accuracy'))} of {s.get('scale_models', '-')}",
                             f"{pct(s.get('loss_family_accuracy'))} of {s.get('loss_family_images', '-')}",
                             f"{pct(s.get('loss_family_model_accuracy'))} of {s.get('loss_family_models', '-')}"])
    if summary_rows:
        part.tables.append({"caption": "parsers on the imported (published) models: scale and pixel-vs-adversarial "
                                       "loss, per image and per model (majority vote)",
                            "columns": ["trained on", "crops per image", "scale: images", "scale: models",
                                        "loss family: images", "loss family: models"], "rows": summary_rows})
    for key, caption, collapsed in (("imported", "parsers trained on the whole zoo, applied to each imported model "
                                                 "(the study's Figure 6)", False),
                                    ("imported_family_out", "parsers trained on the zoo plus the other imported "
                                                            "families, applied to each imported model", True)):
        res = as_dict(data.get(key))
        targets = [str(t) for t in as_list(res.get("targets"))]
        rows = [[m, r.get("arch"), r.get("scale"), r.get("loss"), r.get("n_images"),
                 *[predicted(as_dict(r.get("predictions")).get(t)) for t in targets]]
                for m, r in as_dict(res.get("models")).items() if isinstance(r, dict)]
        if rows:
            part.tables.append({"caption": caption, "collapsed": collapsed,
                                "columns": ["model", "arch", "scale", "loss", "images",
                                            *[f"predicted {t}" for t in targets]], "rows": rows})


def parsing_section(tables: ResultTables | None) -> Section:
    """Parsing: the held-out table, FEN+PN vs baselines, and the predictions on imported models."""
    sec = Section("parsing", "Parsing: the hyperparameters of an unseen model", ran=False,
                  command=command_for(*PARSING_TABLES))
    if tables is None:
        return sec
    for name, build in (("parsing_mini_table", _heldout), ("parsing_mini_fen", _fen),
                        ("parsing_mini_imported", _imported)):
        data = tables.get(name)
        if data is None:
            sec.notes.append(tables.absent_note(name) or "")
        else:
            add_guarded(sec, name, lambda part, b=build, d=data: b(part, d))
    return sec


# --- verification -----------------------------------------------------------------------------------


def _copies_by_attack(ver: dict[str, Any]) -> list[list[Any]]:
    by: dict[str, list[dict[str, Any]]] = {}
    for r in dict_rows(ver.get("copy_rows")):
        by.setdefault(str(r.get("attack")), []).append(r)
    rows = []
    for attack, rs in by.items():
        done = [r for r in rs if "error" not in r]
        verdicts: dict[str, int] = {}
        for r in done:
            verdicts[str(r.get("verdict"))] = verdicts.get(str(r.get("verdict")), 0) + 1
        sims = [s for s in (num(r.get("similarity")) for r in done) if s is not None]
        psnr = sorted(p for p in (num(r.get("psnr_change")) for r in done) if p is not None)
        others = ", ".join(f"{k} {v}" for k, v in verdicts.items() if k != "copy") or "-"
        rows.append([attack, len(done), verdicts.get("copy", 0), others, len(rs) - len(done),
                     f"{min(sims):.5f}" if sims else "-", f"{1 - min(sims):.2e}" if sims else "-",
                     f"{psnr[0]:+.2f} .. {psnr[-1]:+.2f}" if psnr else "-",
                     f"{psnr[len(psnr) // 2]:+.3f}" if psnr else "-"])
    return rows


def _verification(part: Section, ver: dict[str, Any]) -> None:
    from .table_figures import verdict_matrix, verification_heatmap

    pops = as_dict(ver.get("populations"))
    if ver.get("sources") is not None:
        part.facts.append(("sources", f"{ver.get('sources')} models" +
                           (f" ({', '.join(f'{k} {v}' for k, v in pops.items())})" if pops else "")))
    if ver.get("copies_total") is not None:
        part.facts.append(("copies verified", f"{ver.get('copies_verified')} of {ver.get('copies_total')} "
                                              f"({_counts(ver.get('copies'))})"))
    if ver.get("independent_total") is not None:
        part.facts.append(("independent pairs called a copy", f"{ver.get('false_copy')} of "
                                                              f"{ver.get('independent_total')} "
                                                              f"({_counts(ver.get('independent'))})"))
    ci = [num(x) for x in as_list(ver.get("false_match_ci95"))]
    if num(ver.get("false_match_rate")) is not None:
        part.facts.append(("false-match rate (p and Cantelli bound < alpha)", f"{fixed(ver['false_match_rate'], 4)}" +
                           (f", 95 % CI [{ci[0]:.4f}, {ci[1]:.4f}]" if len(ci) == 2 and None not in ci else "")))
    if ver.get("alpha") is not None:
        band = ver.get("copy_band_calibrated", ver.get("copy_max_distance"))
        part.facts.append(("significance level, copy band", f"alpha = {ver.get('alpha')}, 1 - S <= {band}"))
    rows = _copies_by_attack(ver)
    if rows:
        part.tables.append({"caption": "copies by attack: each attack applied to every source it fits, the verdict "
                                       "on the copy, its similarity S to the source and its PSNR change (dB)",
                            "columns": ["attack", "copies", "called copy", "other verdicts", "not applied", "min S",
                                        "max 1 - S", "PSNR change range", "median PSNR change"], "rows": rows})
    names, cols, counts = verdict_matrix(ver)
    pairs = [i for i, n in enumerate(names) if not n.startswith("copy:")]
    used = [j for j in range(len(cols)) if counts[pairs, j].any()] if pairs else []
    if pairs:
        part.tables.append({"caption": "verdicts on pairs of different models (independent, or sharing a parent)",
                            "columns": ["pair kind: populations", "pairs", *[cols[j] for j in used]],
                            "rows": [[names[i], int(counts[i].sum()), *[int(counts[i, j]) for j in used]]
                                     for i in pairs]})
    decided = [r for r in dict_rows(ver.get("independent_rows")) if r.get("verdict") != "undecided"]
    closest = sorted(decided, key=lambda r: -(num(r.get("similarity")) or 0))[:15]
    if closest:
        part.tables.append({"caption": f"the {len(closest)} most similar independent pairs with a verdict "
                                       "(undecided pairs share too few comparable parameters)", "collapsed": True,
                            "columns": ["source", "suspect", "S", "coverage", "p", "verdict"],
                            "rows": [[r.get("source"), r.get("suspect"), fixed(r.get("similarity"), 3),
                                      fixed(r.get("coverage")), sci(r.get("p_value")), r.get("verdict")]
                                     for r in closest]})
    failed = [r for r in dict_rows(ver.get("copy_rows")) if "error" in r]
    if failed:
        first = failed[0]
        part.notes.append(f"verification: {len(failed)} attacks could not be applied (counted as not applied), e.g. "
                          f"{first.get('attack')} on {first.get('source')}: {str(first.get('error'))[:160]}")
    png = verification_heatmap(ver)
    if png is not None:
        part.figures.append({"caption": "verdict heat map: every copy (by attack) and every pair of different models "
                                        "(by kind and populations), as shares of the row", "png": png})


def _rate_cell(d: Any) -> str:
    """``k/n (95 % CI lo-hi)`` of a rate written by :func:`srprint.verification.protocol_v3.summarise_v3`.

    Raises
    ------
    TypeError
        ``d`` is not such a rate (the table is not the benchmark's).
    """
    if not isinstance(d, dict) or not isinstance(d.get("k"), int) or not isinstance(d.get("n"), int):
        raise TypeError(f"a rate holds integer k and n, got {str(d)[:60]}")
    lo, hi = ([num(x) for x in as_list(d.get("wilson95"))] + [None, None])[:2]
    ci = f" (95 % CI {lo:.1%}-{hi:.1%})" if lo is not None and hi is not None else ""
    return f"{d['k']}/{d['n']}{ci}"


def _verification_v3(part: Section, v3: dict[str, Any]) -> None:
    """Issue 26's benchmark: its targets with their intervals, and every edit's verdicts beside v2's."""
    neg = as_dict(v3.get("negatives"))
    band = as_dict(v3.get("copy_band"))
    secs = as_dict(v3.get("seconds_decided"))
    timing = as_dict(as_dict(v3.get("timing")).get("stored_nulls"))
    rows = [["exact edits (outputs unchanged) called copy", _rate_cell(v3.get("exact"))],
            ["edited and then changed (int8, fine-tuning, pruning, fp16) called copy", _rate_cell(v3.get("changed"))],
            ["independent pairs called copy or shared parent", f"{_rate_cell(neg.get('false_links'))} of "
                                                               f"{neg.get('decided', '-')} decided"],
            ["independent pairs undecided", _rate_cell(neg.get("undecided"))],
            ["seconds per decided pair, as run", f"median {secs.get('median', '-')}, max {secs.get('max', '-')}"]]
    if timing.get("n"):
        within = as_dict(v3.get("timing")).get("within_target")
        rows.append(["seconds per decided pair, nulls stored", f"median {timing.get('median')}, max "
                                                              f"{timing.get('max')} over {timing.get('n')}"])
        if within:
            rows.append(["decided pairs within 5 s, nulls stored", _rate_cell(within)])
    part.facts.append(("v3 sources", f"{len(as_list(v3.get('sources_scored')))} scored, "
                                     f"{len(as_list(v3.get('sources_calibration')))} calibration (never scored); "
                                     f"{v3.get('remaining_items', '-')} items still to run"))
    part.facts.append(("v3 copy band", f"1 - S <= {fixed(band.get('band'), 4)} from {band.get('n', '-')} copies of "
                                       f"{band.get('data', '-')}"))
    cur = as_dict(v3.get("current_method"))
    if cur:  # a partial rerun: what the current method has decided so far, apart from older rows
        part.facts.append((f"v3 rows of {cur.get('method', '-')} alone",
                           f"exact edits copy {_rate_cell(cur.get('exact'))}; changed copies copy "
                           f"{_rate_cell(cur.get('changed'))}; independent pairs linked "
                           f"{_rate_cell(cur.get('false_links'))} of the decided"))
    part.tables.append({"caption": "verification v3 (function first, lineage invariant to free edits): the "
                                   "benchmark's rates with 95 % Wilson intervals", "columns": ["measure", "result"],
                        "rows": rows})
    edits = []
    for tag, d in sorted(as_dict(v3.get("by_edit")).items()):
        d = as_dict(d)
        ps = [p for p in (num(x) for x in as_list(d.get("psnr"))) if p is not None]
        edits.append([tag, d.get("n"), _counts(d.get("v3")), _counts(d.get("v2")),
                      f"{min(ps):+.2f} .. {max(ps):+.2f}" if ps else "-"])
    if edits:
        part.tables.append({"caption": "verification v3: verdicts on each edit of the sources, beside the previous "
                                       "method's (v2) on the same copies", "collapsed": True,
                            "columns": ["edit", "copies", "v3", "v2", "PSNR change (dB)"], "rows": edits})


def verification_from_tables(sec: Section, tables: ResultTables) -> None:
    """Add the ``verification_v3`` table (issue 26: targets, verdicts by edit beside v2's) and the
    ``verification`` table (copies by attack, pair verdicts, heat map) to ``sec``."""
    if "verification_v3" in tables.data:
        add_table(sec, tables, "verification_v3", _verification_v3)
    add_table(sec, tables, "verification", _verification)


# --- trace ------------------------------------------------------------------------------------------


def _trace(part: Section, tr: dict[str, Any]) -> None:
    if "top1_made_by" not in tr and not dict_rows(tr.get("rows")):
        return
    n = tr.get("images", "?")
    false_open = tr.get("open_false_attributions", "-")
    rows = [["top-1 made by the true model, all candidates", f"{tr.get('top1_made_by', '-')}/{n}"],
            ["true model ranked first (smallest calibrated p-value)", f"{tr.get('argmin_right', '-')}/{n}"],
            ["open set: false attributions with the true model removed", f"{false_open}/{n}"],
            ["open-set AUROC (best p-value, true model present vs removed)", fixed(tr.get("auroc"), 3)],
            ["seconds per image (coarse to fine)", fixed(tr.get("seconds_per_image_pruned"), 1)]]
    for q, j in as_dict(tr.get("jpeg")).items():
        j = as_dict(j)
        of = j.get("n", "-")
        rows.append([f"JPEG q = {q}: made by the true model / true model ranked first",
                     f"{j.get('made_by_right', '-')}/{of} / {j.get('argmin_right', '-')}/{of}"])
    part.tables.append({"caption": f"tracing {n} images of {tr.get('models', '?')} models by inversion, up to "
                                   f"{tr.get('candidates_max', '?')} candidates each (alpha = {tr.get('alpha', '?')})",
                        "columns": ["measure", "result"], "rows": rows})
    imgs = [[r.get("model"), r.get("scale"), r.get("n_candidates"), r.get("verdict"), r.get("predicted"),
             "yes" if r.get("verdict") == "made by" and r.get("predicted") == r.get("model") else "NO",
             sci(r.get("true_ratio")), sci(r.get("p_best")), r.get("open_verdict"), fixed(r.get("seconds"), 0)]
            for r in dict_rows(tr.get("rows"))]
    if imgs:
        part.tables.append({"caption": "each traced image", "collapsed": len(imgs) > 12, "columns": [
            "true model", "scale", "candidates", "verdict", "predicted", "right", "true ratio", "p (best)",
            "open-set verdict", "s"], "rows": imgs})


def trace_from_tables(sec: Section, tables: ResultTables) -> None:
    """Add the ``trace`` table's headline and per-image rows to ``sec``."""
    add_table(sec, tables, "trace", _trace)


# --- provenance -------------------------------------------------------------------------------------


def _recorded_seconds(data: dict[str, Any]) -> str:
    if num(data.get("seconds")) is not None:
        return fixed(data["seconds"], 0)
    for key in ("timings", "timings_s"):
        vals = [num(v) for v in as_dict(data.get(key)).values()]
        if any(v is not None for v in vals):
            return fixed(sum(v for v in vals if v is not None), 0)
    return "-"


def provenance_from_tables(sec: Section, tables: ResultTables, *, shown: tuple[str, ...]) -> None:
    """Add one row per result table of ``tables``: where and when it was made (its ``machine`` record).

    Parameters
    ----------
    sec : Section
        The provenance section.
    tables : ResultTables
        The tables folder.
    shown : tuple of str
        The tables the report shows (the others are listed as kept in the folder only).
    """
    rows = []
    for name, data in tables.data.items():
        m = data.get("machine")
        if not isinstance(m, dict):
            continue
        load = [fixed(as_list(m.get(k))[0] if as_list(m.get(k)) else None, 1)
                for k in ("load_average_at_start", "load_average_at_end")]
        commit = m.get("git_commit") or m.get("commit")
        cpu = " ".join(str(x) for x in (m.get("cpu"), f"({m['cpu_count']} cores)" if m.get("cpu_count") else None)
                       if x)
        rows.append([name, "yes" if name in shown else "no",
                     f"{commit or '-'}{' + uncommitted changes' if m.get('git_dirty') else ''}",
                     m.get("date") or data.get("date") or "-", cpu or "-", m.get("torch_threads", "-"),
                     m.get("torch") or "-", m.get("cuda") or "-", f"{load[0]} / {load[1]}", _recorded_seconds(data)])
    rows.sort(key=lambda r: r[1] != "yes")  # the tables this report shows first
    rows += [[name, "unusable: " + why, *["-"] * 8] for name, why in tables.problems.items()]
    if rows:
        sec.tables.append({"caption": f"result tables of {tables.folder}: the machine each was made on",
                           "columns": ["table", "in this report", "commit", "date", "cpu", "torch threads", "torch",
                                       "GPU", "load start / end", "sum of recorded timings (s)"], "rows": rows})
