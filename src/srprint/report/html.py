"""Fill the report template: every figure is embedded as a data URI, so the page needs no network."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

from .section import Section

TEMPLATE = "report.html.j2"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def embed_figures(sections: list[Section]) -> list[dict[str, Any]]:
    """The sections as template data, each figure read from disk (or given as bytes) and embedded."""
    out = []
    for sec in sections:
        figures = []
        for fig in sec.figures:
            png = fig.get("png")
            if png is None:
                try:
                    png = Path(fig["path"]).read_bytes()
                except OSError:
                    sec.notes.append(f"figure missing: {fig.get('path')}")
                    continue
            figures.append({"caption": fig["caption"], "src": _data_uri(png), "size": fig.get("size", "full")})
        out.append({**sec.__dict__, "figures": figures})
    return out


def render_html(sections: list[Section], *, title: str) -> str:
    """The report page of ``sections``.

    Raises
    ------
    jinja2.TemplateError
        If the packaged template is broken (a bug, not a user error).
    """
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("srprint.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    from .. import __version__

    return env.get_template(TEMPLATE).render(
        title=title, sections=embed_figures(sections), version=__version__,
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_report(study: str | Path, out: str | Path, *, zoo: str | Path | None = None,
                 title: str | None = None) -> Path:
    """Write the self-contained HTML report of the study folder ``study`` to ``out`` (atomically).

    Stages that did not run are shown as "not run" with the command that produces them; nothing in
    ``study`` is written.

    Raises
    ------
    SrprintError
        If ``study`` is not a folder.
    """
    from ..io.atomic import atomic_write_text
    from .collect import collect_study

    study = Path(study)
    sections = collect_study(study, zoo=zoo)
    if title is None:
        from .tables import find_tables_folder

        bare = find_tables_folder(study) == study  # a folder of result tables itself (bench/results)
        title = f"srprint result tables: {study.resolve().parent.name}/{study.name}" if bare else \
            f"srprint study: {study.name}"
    page = render_html(sections, title=title)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, page)
    return out
