"""The parsing benchmark protocol on a render: held-out parser table, FEN+PN vs baselines, imported models.

One protocol, two callers: ``bench/parsing_mini.py`` (options from the command line) and the
``mini`` study (:func:`mini_stage`). Both keep their runs under ``$SRPRINT_HOME/bench/<name>`` by
default, so either one reuses what the other trained.

Sections (issue 6, acceptance 2):

1. ``table``: the held-out parser table (targets x held-out values) next to the study's Table 5;
2. ``fen``: FEN+PN vs "random ground truth" vs "no fingerprint" (leave-models-out CV): L1, F1
   discrete, F1 coarse / fine loss, aggregated over 1 / 10 / 100 images; real-vs-generated AUC;
   attribution;
3. ``imported``: prediction tables for the imported third-party models (scale, loss family known from
   models.csv): the study's protocol (``imported_table``: parsers trained on the zoo), then scale and
   pixel-vs-adversarial parsers with a per-model budget trained on the zoo only and on the zoo plus
   the other imported families (family-grouped cross-validation: no parser sees the family it
   predicts).

Parsers score each test image on ``tiles`` x ``tiles`` crops (default 3, the library's default;
1 = the study's centre crop). Section 3b also reports the centre-crop scores of the same runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..classify.tiles import DEFAULT_TILES
from ..config import resolves_device
from ..errors import DatasetError, SrprintError
from .protocol_sections import CROSSFIT_PROTOCOLS, TARGETS, fen_section, imported_section, table_section

__all__ = ["CROSSFIT_PROTOCOLS", "MINI_TABLES", "PROFILES", "SECTIONS", "TARGETS", "ParsingProtocol",
           "default_work", "mini_stage", "run_parsing_protocol"]

# engine + FEN settings per profile ("gpu": the study's recipe; "cpu": small; "smoke": seconds per cell)
PROFILES: dict[str, dict[str, Any]] = {
    "gpu": {
        "engine": {
            "backbone": "convnext_atto",
            "crop": 128,
            "batch_size": 32,
            "head_epochs": 3,
            "full_epochs": 15,
            "patience": 3,
        },
        "fen": {"crop": 128, "fen_depth": 15, "fen_width": 64, "pn_width": 32, "epochs": 15, "batch_size": 32},
        "folds": 3,
        "shuffles": 3,
    },
    "cpu": {
        "engine": {
            "backbone": "convnext_atto",
            "crop": 64,
            "batch_size": 16,
            "head_epochs": 0,  # from scratch: a head on random features learns nothing useful
            "full_epochs": 4,
            "patience": 2,
            # 4 epochs are too short for the library's 90 %-JPEG default; the session-2 table used these
            "jpeg_augment": 0.5,
            "jpeg_quality_min": 65,
            "max_per_class": 150,
        },
        "fen": {
            "crop": 64,
            "fen_depth": 6,
            "fen_width": 32,
            "pn_width": 16,
            "epochs": 6,
            "batch_size": 16,
            "max_per_model": 40,
        },
        "folds": 3,
        "shuffles": 3,
    },
    "smoke": {
        "engine": {
            "backbone": "test_convnext",
            "crop": 32,
            "batch_size": 16,
            "head_epochs": 1,
            "full_epochs": 2,
            "patience": 2,
            "max_per_class": 100,
        },
        "fen": {
            "crop": 32,
            "fen_depth": 2,
            "fen_width": 8,
            "pn_width": 8,
            "epochs": 2,
            "batch_size": 16,
            "max_per_model": 10,
        },
        "folds": 2,
        "shuffles": 1,
    },
}
# "imported_table" is part of "imported": without it section 3 runs its cross-fitted tables only
SECTIONS = ("table", "fen", "imported", "imported_table")
# the mini study's tables: each section run on its own, as bench/results/ holds them (on 2 CPU cores
# one all-in-one run would take days, so the bench ran them separately with --skip)
MINI_TABLES = (
    ("parsing_mini_table", ("table",)),
    ("parsing_mini_fen", ("fen",)),
    ("parsing_mini_imported", ("imported", "imported_table")),
)


@dataclass(frozen=True)
class ParsingProtocol:
    """The options of one parsing benchmark run (the defaults are the bench's).

    Attributes
    ----------
    profile : str
        Engine and FEN+PN settings, a key of :data:`PROFILES` (``gpu``, ``cpu`` or ``smoke``).
    sections : tuple of str
        Sections to run, from :data:`SECTIONS`. ``imported_table`` (the study's Figure 6 table) runs
        only together with ``imported``.
    targets : tuple of str
        Parser targets of the held-out table.
    where : str, optional
        Manifest filter applied to the whole benchmark.
    folds, shuffles, fen_epochs, max_per_class : int, optional
        Overrides of the profile's FEN CV folds, random-GT shuffles, FEN+PN epochs and training
        images per class of the held-out parsers (None or 0: the profile's).
    crossfit_folds : int
        Family folds of the zoo + imported parsers (0: skip the family-out protocol).
    crossfit_per_model : int
        Training images per model of the zoo-only / family-out parsers.
    crossfit_protocols : tuple of str
        Imported-model protocols to run, from :data:`CROSSFIT_PROTOCOLS`.
    tiles : int
        Crops per side scored per test image (1 = the study's centre crop).
    note : str
        A line added under the title (e.g. what the render is).

    Raises
    ------
    SrprintError
        If the profile, a section or a cross-fit protocol is unknown, or a count is out of range.
    """

    profile: str = "cpu"
    sections: tuple[str, ...] = SECTIONS
    targets: tuple[str, ...] = ("scale", "loss", "arch", "dataset")
    where: str | None = None
    folds: int | None = None
    shuffles: int | None = None
    fen_epochs: int | None = None
    max_per_class: int | None = None
    crossfit_folds: int = 4
    crossfit_per_model: int = 40
    crossfit_protocols: tuple[str, ...] = CROSSFIT_PROTOCOLS
    tiles: int = DEFAULT_TILES
    note: str = ""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise SrprintError(f"unknown parsing profile {self.profile!r}; known: {', '.join(sorted(PROFILES))}")
        for what, given, known in (("section", self.sections, SECTIONS),
                                   ("cross-fit protocol", self.crossfit_protocols, CROSSFIT_PROTOCOLS)):
            bad = [s for s in given if s not in known]
            if bad:
                raise SrprintError(f"unknown parsing {what}(s) {', '.join(bad)}; known: {', '.join(known)}")
        if self.tiles < 1 or self.crossfit_per_model < 1 or self.crossfit_folds < 0:
            raise SrprintError("parsing protocol: tiles and crossfit_per_model must be >= 1, crossfit_folds >= 0")

    def settings(self) -> dict[str, Any]:
        """The profile's settings with this protocol's overrides applied (a new dict)."""
        prof = dict(PROFILES[self.profile])
        # falsy overrides keep the profile's value, as the bench's flags always did
        if self.folds:
            prof["folds"] = self.folds
        if self.shuffles:
            prof["shuffles"] = self.shuffles
        if self.fen_epochs:
            prof["fen"] = {**prof["fen"], "epochs": self.fen_epochs}
        if self.max_per_class:
            prof["engine"] = {**prof["engine"], "max_per_class": self.max_per_class}
        return prof


def default_work(name: str) -> Path:
    """Where the runs of the protocol run ``name`` are kept: ``$SRPRINT_HOME/bench/<name>``."""
    from ..config import srprint_home

    return srprint_home() / "bench" / name


@resolves_device
def run_parsing_protocol(
    data: str | Path | None,
    *,
    work: str | Path | None = None,
    protocol: ParsingProtocol | None = None,
    device: str = "auto",
    name: str = "parsing_mini",
) -> tuple[dict[str, Any], str]:
    """Run the sections of ``protocol`` on the render ``data``; return the result and its Markdown.

    Every run is kept under ``work``, and finished runs are reused, so an interrupted protocol
    resumes and a second caller (the bench, the study) with the same ``name`` trains nothing again.

    Parameters
    ----------
    data : str or Path or None
        The rendered dataset (with trained, and for section 3 imported, models).
    work : str or Path, optional
        Folder of the runs (default :func:`default_work` of ``name``).
    protocol : ParsingProtocol, optional
        The options (default: the bench's, profile ``cpu``, every section).
    device : str
        Torch device (``auto``: CUDA when available).
    name : str
        The run's name: the title of the Markdown and the default work folder.

    Returns
    -------
    tuple of (dict, str)
        The result (keys as in ``bench/results/parsing_mini_*.json``, without ``machine``) and the
        Markdown report.

    Raises
    ------
    DatasetError
        If ``data`` is None or not a rendered dataset, or ``where`` matches no image.
    SrprintError
        If the device is unavailable, or a section cannot run on this render (e.g. a held-out
        value or family fold that does not apply).
    """
    from ..classify.run_folder import ClassifierConfig
    from ..render.manifest import RenderedDataset
    from .pn import FenPnConfig

    if data is None:
        raise DatasetError("no render to parse: pass the folder of a rendered dataset (srprint render ...)")
    protocol = protocol or ParsingProtocol()
    prof = protocol.settings()
    work = Path(work) if work is not None else default_work(name)
    ds = RenderedDataset.open(data, where=protocol.where)
    ecfg = ClassifierConfig(**prof["engine"])
    fcfg = FenPnConfig(**prof["fen"])
    results: dict[str, Any] = {
        "data": str(data),
        "profile": protocol.profile,
        "device": device,
        "engine_config": prof["engine"],
        "fen_config": prof["fen"],
        "fen_cv_folds": prof["folds"],
        "fen_cv_shuffles": prof["shuffles"],
        "n_models": int(ds.frame["model_id"].nunique()),
        "n_images": len(ds.frame),
        "timings_s": {},
    }
    md: list[str] = [
        f"# Parsing benchmark ({name}, profile {protocol.profile})",
        "",
        f"Render: `{data}` ({results['n_models']} classes incl. HR, {len(ds.frame)} images); device {device}.",
        "",
    ]
    if protocol.note:
        md += [f"**{protocol.note}**", ""]
        results["note"] = protocol.note
    if "table" in protocol.sections:
        md += table_section(data, work, ecfg, protocol=protocol, device=device, results=results)
    if "fen" in protocol.sections:
        md += fen_section(ds, work, fcfg, prof=prof, device=device, results=results)
    if "imported" in protocol.sections and (ds.frame["source"] == "imported").any():
        md += imported_section(data, work, ecfg, protocol=protocol, device=device, results=results)
    md += ["## Targets", ""]
    for key in ("target_scale_arch_heldout", "target_imported", "target_fen_better_than_baselines"):
        if key in results:
            md.append(f"- {key}: `{results[key]}`")
    md.append("")
    return results, "\n".join(md)


def mini_stage(ctx: Any, *, protocol: ParsingProtocol | None = None) -> dict[str, Any]:
    """The mini study's parsing stage: the three tables of ``bench/results/parsing_mini_*``.

    Runs the protocol three times, one section each, named ``parsing_mini_table``,
    ``parsing_mini_fen`` and ``parsing_mini_imported`` (as ``bench/parsing_mini.py --name <that>
    --skip <the others>``, whose work folders under ``$SRPRINT_HOME/bench/`` they share), and writes
    each to ``ctx.tables_dir`` with :func:`srprint.study.tables.write_table`. The bench's ``gpu``
    profile is used when ``ctx.device`` is CUDA, its ``cpu`` profile otherwise. A render without
    imported models gets no imported table (the summary says so).

    Parameters
    ----------
    ctx : StudyContext
        The study's context; ``ctx.results["render"]["render"]`` is the render folder.
    protocol : ParsingProtocol, optional
        Options other than the sections (default: the bench's, with the device's profile).

    Returns
    -------
    dict
        ``tables`` (the JSON files written), ``profile``, ``scale_arch_heldout_min`` (worst scale
        accuracy with an architecture held out), ``fen_wins`` (comparisons FEN+PN won, ``"k/n"``),
        ``imported_scale`` / ``imported_loss_family`` (per-image accuracy of the better protocol),
        and ``imported_skipped`` when the render has no imported model.

    Raises
    ------
    SrprintError
        If the study has no render (its render stage did not run), or a section cannot run.
    DatasetError
        If the render folder is not a rendered dataset.
    """
    from ..render.manifest import RenderedDataset
    from ..result_tables import write_table

    render = (ctx.results.get("render") or {}).get("render")
    if not render:
        raise SrprintError("parsing stage: the study has no render (run its render stage first)")
    ds = RenderedDataset.open(render)
    if protocol is None:
        protocol = ParsingProtocol(profile="gpu" if str(ctx.device).startswith("cuda") else "cpu")
    summary: dict[str, Any] = {"tables": [], "profile": protocol.profile}
    for name, sections in MINI_TABLES:
        if "imported" in sections and not (ds.frame["source"] == "imported").any():
            summary["imported_skipped"] = "the render has no imported models"
            continue
        options = replace(protocol, sections=sections)
        if name == "parsing_mini_table" and protocol.profile == "cpu" and protocol.max_per_class is None:
            # the committed table's parsers saw 1000 images per class (its recorded engine_config),
            # not the cpu profile's 150
            options = replace(options, max_per_class=1000)
        result, markdown = run_parsing_protocol(render, protocol=options, device=ctx.device, name=name)
        jp, _ = write_table(ctx.tables_dir, name, result, markdown)
        summary["tables"].append(str(jp))
        if "target_scale_arch_heldout" in result:
            summary["scale_arch_heldout_min"] = result["target_scale_arch_heldout"]["min_accuracy"]
        if "target_fen_better_than_baselines" in result:
            won = result["target_fen_better_than_baselines"]
            summary["fen_wins"] = f"{won['comparisons_won']}/{won['of']}"
        if "target_imported" in result:
            summary["imported_scale"] = result["target_imported"]["scale_accuracy"]
            summary["imported_loss_family"] = result["target_imported"]["loss_family_accuracy"]
    return summary
