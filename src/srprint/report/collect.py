"""Read a study folder into the sections of the report; a missing stage is a section marked "not run"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SrprintError
from ..io.arrays import read_json_or_none
from .section import Section
from .tables import ResultTables, find_tables_folder, read_tables

SUMMARY_FILE = "study.json"  # the per-stage summaries `srprint study` writes at its end
LEGACY_SUMMARY_FILE = "demo.json"  # its name before every preset wrote one; old study folders still have it


def _pct(x: Any) -> str:
    return f"{100 * x:.1f} %" if isinstance(x, (int, float)) else "-"


def _db(x: Any) -> str:
    return f"{x:.2f}" if isinstance(x, (int, float)) else "-"


def population_section(zoo: Path | None) -> Section:
    """The model population: one row per zoo entry, PSNR/SSIM against bicubic."""
    sec = Section("population", "Model population", ran=False,
                  command="srprint zoo train --preset demo  (or: srprint demo)")
    records = sorted(zoo.glob("*/model.json")) if zoo is not None and zoo.is_dir() else []
    rows, worse, eval_sets = [], [], set()
    for rec in records:
        data = read_json_or_none(rec)
        if not isinstance(data, dict):
            sec.notes.append(f"unreadable record {rec}")
            continue
        labels, m = data.get("labels") or {}, data.get("metrics") or {}
        rows.append([data.get("id", rec.parent.name), data.get("arch", ""), labels.get("scale", data.get("scale")),
                     labels.get("loss", ""), labels.get("dataset", ""), labels.get("seed", ""),
                     m.get("eval_set", "-"), _db(m.get("psnr")), _db(m.get("bicubic_psnr")), _db(m.get("psnr_gain")),
                     _db(m.get("ssim")), _db(m.get("bicubic_ssim"))])
        if m.get("eval_set"):
            eval_sets.add(str(m["eval_set"]))
        if isinstance(m.get("psnr_gain"), (int, float)) and m["psnr_gain"] <= 0:
            worse.append((rows[-1][0], "Adv" in str(labels.get("loss", ""))))
    if rows:
        sec.ran = True
        sets = ", ".join(sorted(eval_sets)) or "its evaluation set"
        sec.tables.append({"caption": f"{len(rows)} models of {zoo}, PSNR (dB) and SSIM against bicubic on {sets} "
                                      "(never trained on)", "collapsed": len(rows) > 20,
                           "columns": ["model", "arch", "scale", "loss", "dataset", "seed", "evaluated on", "PSNR",
                                       "bicubic PSNR", "gain", "SSIM", "bicubic SSIM"], "rows": rows})
        pixel = [m for m, adv in worse if not adv]
        adversarial = [m for m, adv in worse if adv]
        if pixel:
            sec.notes.append(f"{len(pixel)} of {len(rows)} pixel-loss models do not beat bicubic: " + ", ".join(pixel))
        if adversarial:
            sec.notes.append(f"{len(adversarial)} adversarially trained models score below bicubic in PSNR (they "
                             "trade PSNR for texture, as GAN-trained SR models do): " + ", ".join(adversarial))
    return sec


def _eval_tables(ev: dict[str, Any], name: str) -> list[dict[str, Any]]:
    tables = []
    per = ev.get("per_class") or []
    if per:
        tables.append({"caption": f"{name}: accuracy per class ({ev.get('split', 'test')} split)",
                       "columns": ["class", "images", "accuracy"],
                       "rows": [[r.get("class"), r.get("n"), _pct(r.get("acc"))] for r in per]})
    for key, rows in (ev.get("grouped") or {}).items():
        rows = [r for r in rows if r.get("value") not in ("", None)]
        if rows:
            tables.append({"caption": f"{name}: accuracy by {key}", "columns": [key, "images", "accuracy"],
                           "rows": [[r.get("value"), r.get("n"), _pct(r.get("acc"))] for r in rows]})
    groups = (ev.get("seed_groups") or {}).get("groups") or []
    if groups:
        tables.append({"caption": f"{name}: seed groups (models that differ only in their seed)",
                       "columns": ["group", "models", "images", "accuracy", "chance"],
                       "rows": [[g.get("group"), len(g.get("models", [])), g.get("n"), _pct(g.get("acc")),
                                 _pct(g.get("chance"))] for g in groups]})
    return tables


ATTRIBUTION_RUNS = (("CNN", "cnn"), ("PRNU", "prnu"))  # (name, run folder under <study>/attribution)


def read_evaluations(study: Path) -> dict[str, dict[str, Any] | None]:
    """The test-split evaluation of each attribution run, by run folder name (None: not run)."""
    out = {}
    for _, folder in ATTRIBUTION_RUNS:
        ev = read_json_or_none(study / "attribution" / folder / "eval_test.json")
        out[folder] = ev if isinstance(ev, dict) else None
    return out


def attribution_section(study: Path, evaluations: dict[str, dict[str, Any] | None], *,
                        note_missing: bool = True) -> Section:
    """The CNN classifier and the PRNU baseline on the test split, side by side.

    ``note_missing=False`` leaves out the notes on missing run folders (when result tables stand in).
    """
    sec = Section("attribution", "Attribution: which model made this image?", ran=False,
                  command="srprint attribute train --data RENDER -o RUN && srprint attribute eval RUN")
    for name, folder in ATTRIBUTION_RUNS:
        run, ev = study / "attribution" / folder, evaluations[folder]
        if ev is None:
            if note_missing:
                sec.notes.append(f"{name}: not run (no {run / 'eval_test.json'})")
            continue
        sec.ran = True
        sec.facts.append((f"{name} ({ev.get('method', '')})",
                          f"{_pct(ev.get('overall_acc'))} on {ev.get('n', '?')} test images of "
                          f"{ev.get('n_classes', '?')} classes (chance {_pct(ev.get('chance'))})"))
        sg = (ev.get("seed_groups") or {}).get("mean_acc")
        if sg is not None:
            sec.facts.append((f"{name} seed groups", _pct(sg)))
        sec.tables += _eval_tables(ev, name)
        for fig, caption in (("confusion", "confusion matrix"), ("tsne", "t-SNE of the penultimate features")):
            path = run / f"{fig}_test.png"
            if path.is_file():
                sec.figures.append({"caption": f"{name}: {caption} (test split)", "path": str(path)})
    return sec


def verification_section(summary: dict[str, Any] | None) -> Section:
    """The ownership verdicts the demo printed, each against the verdict it should be."""
    sec = Section("verification", "Ownership verification: is this suspect a copy?", ran=False,
                  command="srprint verify SOURCE SUSPECT  (or: srprint demo)")
    ver = (summary or {}).get("verification") or {}
    rows = ver.get("verdicts") or []
    if rows:
        sec.ran = True
        sec.tables.append({"caption": f"verdicts of the {ver.get('method', '')} test",
                           "columns": ["source", "suspect", "verdict", "expected", "right", "function agreement (dB)",
                                       "similarity", "coverage", "p-value"],
                           "rows": [[r.get("source"), r.get("suspect"), r.get("verdict"), r.get("expected"),
                                     "yes" if r.get("verdict") == r.get("expected") else "NO",
                                     _db(r.get("agreement_db")), _db(r.get("similarity")), _db(r.get("coverage")),
                                     f"{r['p_value']:.2g}" if isinstance(r.get("p_value"), float) else "-"]
                                    for r in rows]})
        if "prune_psnr_change" in ver:
            sec.facts.append(("PSNR cost of the 5 % pruning copy", f"{ver['prune_psnr_change']:+.3f} dB"))
    return sec


def trace_section(summary: dict[str, Any] | None) -> Section:
    """Tracing by model inversion: which candidate reproduces the image down to its quantisation."""
    sec = Section("trace", "Tracing by model inversion", ran=False, command="srprint trace IMAGE --zoo ZOO")
    tr = (summary or {}).get("trace") or {}
    rows = tr.get("traces") or []
    if rows:
        sec.ran = True
        columns = [k for k in rows[0] if not isinstance(rows[0][k], (dict, list))]
        sec.tables.append({"caption": "traced images", "columns": columns,
                           "rows": [[r.get(c) for c in columns] for r in rows]})
    return sec


def claims_section(evaluations: dict[str, dict[str, Any] | None], summary: dict[str, Any] | None,
                   tables: ResultTables | None = None) -> Section:
    """Each headline claim of the reference studies against this study's number.

    The numbers of the result tables (the ``mini`` study's) take the place of the demo's where both exist.
    """
    from .claims import claims_rows, table_claims_data

    data = {**evaluations,
            "verdicts": ((summary or {}).get("verification") or {}).get("verdicts"),
            "traces": ((summary or {}).get("trace") or {}).get("traces")}
    data = {k: v for k, v in data.items() if v}
    if tables is not None:
        data.update(table_claims_data(tables.data))
    sec = Section("claims", "Claims of the reference studies", ran=True)
    sec.tables.append({"caption": "each claim, the rule that decides it (fixed before the numbers), our number",
                       "columns": ["study", "claim", "rule", "our number", "verdict"], "rows": claims_rows(data),
                       "wrap": True})
    if tables is not None:
        sec.notes.append(f"Claims are tested on the result tables of {tables.folder} where they hold the stage's "
                         "numbers; the mini zoo is a small population, so an effect shown here is the method "
                         "working at that scale, not the papers' effect sizes.")
    else:
        sec.notes.append("A claim is tested only by the stages this study ran; the demo's small population shows "
                         "the method works, not the papers' effect sizes (bench/results holds the larger "
                         "protocols).")
    return sec


def provenance_section(summary: dict[str, Any] | None, tables: ResultTables | None = None) -> Section:
    """Versions, machine and the wall time of every stage; the machine record of every result table."""
    from ..result_tables import run_environment

    sec = Section("provenance", "Provenance", ran=True)
    env = run_environment()  # the record every result table carries
    sec.facts += [("report made on", f"{env['platform']}, {env['cpu_count']} CPUs, "
                                     f"{env['torch_threads']} torch threads"),
                  *[(k, str(v)) for k, v in env["versions"].items()]]
    stages = [[k, v.get("seconds")] for k, v in (summary or {}).items() if isinstance(v, dict) and "seconds" in v]
    if stages:
        sec.tables.append({"caption": "wall time per stage (s)", "columns": ["stage", "seconds"], "rows": stages})
    if tables is not None:
        from .sections_attribution import ATTRIBUTION_TABLES, POPULATION_TABLES
        from .sections_results import PARSING_TABLES, provenance_from_tables

        provenance_from_tables(sec, tables, shown=(*POPULATION_TABLES, *ATTRIBUTION_TABLES, *PARSING_TABLES,
                                                   "verification", "verification_v3", "trace"))
    return sec


def add_table_sections(sections: dict[str, Section], tables: ResultTables) -> None:
    """Fill ``sections`` (by key) from the result tables; a section still not run gets the tables' command."""
    from .sections_attribution import ATTRIBUTION_TABLES, attribution_from_tables, population_from_tables
    from .sections_results import trace_from_tables, verification_from_tables
    from .tables import command_for

    population_from_tables(sections["population"], tables)
    attribution_from_tables(sections["attribution"], tables)
    verification_from_tables(sections["verification"], tables)
    trace_from_tables(sections["trace"], tables)
    for key, names in (("population", ("zoo_quality",)), ("attribution", ATTRIBUTION_TABLES),
                       ("verification", ("verification",)), ("trace", ("trace",))):
        if not sections[key].ran:
            sections[key].command = command_for(*names)


def read_study_summary(study: Path) -> dict[str, Any] | None:
    """The stage summaries of a study: ``study.json`` (written when a study ends; ``demo.json`` in
    folders made before it was renamed), completed by the per-stage ``stages/<name>.json`` files, so a
    study that is still running or was killed reports every stage it finished; None when there is none."""
    summary = read_json_or_none(study / SUMMARY_FILE)
    if summary is None:
        summary = read_json_or_none(study / LEGACY_SUMMARY_FILE)
    summary = dict(summary) if isinstance(summary, dict) else {}
    stages = study / "stages"
    for rec in sorted(stages.glob("*.json")) if stages.is_dir() else []:
        data = read_json_or_none(rec)  # None: cut short by a kill
        if isinstance(data, dict):
            summary.setdefault(rec.stem, data)
    return summary or None


def collect_study(study: str | Path, *, zoo: str | Path | None = None) -> list[Section]:
    """Every section of the report of the study folder ``study``.

    Parameters
    ----------
    study : str or Path
        A study folder (what ``srprint demo`` writes: ``attribution/``, ``render/``, ``study.json``; what
        ``srprint study --preset mini`` writes adds ``tables/*.json``), or a folder of result tables
        itself (``bench/results``).
    zoo : str or Path, optional
        The zoo of the population table; default: the ``zoo`` recorded in ``study.json``.

    Raises
    ------
    SrprintError
        If ``study`` is not a folder.
    """
    study = Path(study)
    if not study.is_dir():
        raise SrprintError(f"study folder not found: {study}")
    summary = read_study_summary(study)
    if zoo is None and summary is not None:
        zoo = (summary.get("zoo") or {}).get("zoo")
    evaluations = read_evaluations(study)
    folder = find_tables_folder(study)
    tables = read_tables(folder) if folder is not None else None
    from .sections_lineage import lineage_section
    from .sections_results import parsing_section

    has_attribution = tables is not None and tables.get("attribution_mini") is not None
    sections = [population_section(Path(zoo) if zoo else None),
                attribution_section(study, evaluations, note_missing=not has_attribution),
                trace_section(summary), parsing_section(tables), verification_section(summary),
                lineage_section(tables), claims_section(evaluations, summary, tables),
                provenance_section(summary, tables)]
    if tables is not None:
        add_table_sections({s.key: s for s in sections}, tables)
    render = study / "render"
    if not render.is_dir() and isinstance((summary or {}).get("render"), dict):
        render = Path(str(summary["render"].get("render") or study / "render"))  # the mini study's render
    if render.is_dir():
        from .figures import population_figure

        png = population_figure(render)
        if png is not None:
            sections[0].ran = True
            sections[0].figures.append({"caption": "the same test crop rendered by each model, with its "
                                                   "log-magnitude spectrum", "png": png})
    return sections
