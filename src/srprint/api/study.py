"""A whole study and its page: ``study`` (every stage of a preset, resumable) and ``report``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import resolves_device
from .results import Result


@dataclass(frozen=True)
class Study(Result):
    """What a study run did.

    Attributes
    ----------
    preset : str
        ``demo``, ``mini`` or ``paper``.
    out : Path
        The study folder.
    report : Path
        Its HTML report.
    total_seconds : float
        Wall time of this run (finished stages are skipped).
    stages : dict
        Each stage's summary by name.
    """

    preset: str
    out: Path
    report: Path
    total_seconds: float
    stages: dict[str, Any]


@resolves_device
def study(preset: str = "demo", *, out: str | Path | None = None, skip: tuple[str, ...] = (), jobs: int = 1,
          device: str = "auto") -> Study:
    """Run every stage of a study preset not finished before, then write its report.

    Parameters
    ----------
    preset : str
        ``demo`` (scikit-image's photos, a few minutes), ``mini`` (the shared mini zoo and photos:
        the tables of ``bench/results``, hours) or ``paper`` (needs DIV2K and Flickr2K).
    out : str or Path, optional
        The study folder (default ``$SRPRINT_HOME/<preset>``).
    skip : tuple of str
        Stages not to run.
    jobs : int
        Parallel jobs of the stages that fan out (training, rendering).
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    Study
        The folder, the report and every stage's summary.

    Raises
    ------
    SrprintError
        For an unknown preset or stage, or missing data, before anything starts.

    Examples
    --------
    >>> s = srprint.study("demo")  # doctest: +SKIP
    >>> s.report.name  # doctest: +SKIP
    'report.html'
    """
    from ..study.run import run_study

    res = run_study(preset, out=out, device=device, skip=tuple(skip), run_on={"jobs": jobs} if jobs > 1 else None)
    stages = {k: v for k, v in res.items() if k not in ("total_seconds", "report")}
    folder = Path(res["report"]).parent
    return Study(preset, folder, Path(res["report"]), float(res["total_seconds"]), stages)


@dataclass(frozen=True)
class Report(Result):
    """A written report page.

    Attributes
    ----------
    path : Path
        The HTML file (self-contained: images embedded).
    study : Path
        The study (or result-tables) folder it shows.
    """

    path: Path
    study: Path


@resolves_device
def report(study: str | Path | Study | None = None, *, out: str | Path | None = None, zoo: str | Path | None = None,
           title: str | None = None, device: str = "auto") -> Report:
    """Write the self-contained HTML report of a study folder or a folder of result tables.

    Parameters
    ----------
    study : str, Path or Study, optional
        The study folder (default ``$SRPRINT_HOME/demo``), or a folder of result tables such as
        ``bench/results``.
    out : str or Path, optional
        The HTML file (default ``<study>/report.html``).
    zoo : str or Path, optional
        The zoo of the population table (default: the study's).
    title : str, optional
        The page title.
    device : str
        Accepted for uniformity; a report runs no model.

    Returns
    -------
    Report
        The page written.

    Raises
    ------
    SrprintError
        If ``study`` is not a folder.

    Examples
    --------
    >>> srprint.report("bench/results", out="tables.html").path.name  # doctest: +SKIP
    'tables.html'
    """
    from ..config import srprint_home
    from ..report.html import write_report

    del device
    folder = study.out if isinstance(study, Study) else Path(study) if study is not None else srprint_home() / "demo"
    path = write_report(folder, Path(out) if out is not None else folder / "report.html", zoo=zoo, title=title)
    return Report(Path(path), folder)
