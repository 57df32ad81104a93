"""Read a folder of result tables (``<study>/tables`` or ``bench/results``) for the report.

The ``mini`` study's stages and the ``bench/`` scripts write each result as ``<name>.json`` (+ ``.md``)
through :func:`srprint.study.tables.write_table`, with a ``machine`` record, and copy the figures a
table lists into ``<name>/``. This module finds such a folder, parses every JSON in it once, keeps
why a file could not be read, and hands out a table's figures as checked PNG bytes. It never writes.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

STUDY_COMMAND = "srprint study --preset mini"
# the tables the report shows, and the bench script that writes each one alone
BENCH_COMMANDS: dict[str, str] = {
    "zoo_quality": "python bench/zoo_quality.py",
    "attribution_mini": "python bench/attribution_mini.py",
    "attribution_pretrained": "python bench/attribution_mini.py --published",
    "attribution_backbones": "python bench/attribution_backbones.py",
    "parsing_mini_table": "python bench/parsing_mini.py --name parsing_mini_table --skip fen imported",
    "parsing_mini_fen": "python bench/parsing_mini.py --name parsing_mini_fen --skip table imported",
    "parsing_mini_imported": "python bench/parsing_mini.py --name parsing_mini_imported --skip table fen",
    "verification": "python bench/verification.py --v2",
    "verification_v3": "python bench/verification.py",
    "trace": "python bench/trace.py",
    "lineage": "python bench/lineage.py",
}
KNOWN_TABLES = tuple(BENCH_COMMANDS)
MAX_FIGURE_BYTES = 20 * 2**20  # a figure larger than this is not embedded
MAX_TABLE_BYTES = 256 * 2**20  # a table larger than this is not read
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def command_for(*names: str) -> str:
    """The command that writes the tables ``names``: the mini study, or their bench scripts."""
    scripts = list(dict.fromkeys(BENCH_COMMANDS[n] for n in names if n in BENCH_COMMANDS))
    return STUDY_COMMAND + (f"  (or: {'; '.join(scripts)})" if scripts else "")


def read_table(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one result table: ``(data, None)``, or ``(None, why)`` when it cannot be used.

    Parameters
    ----------
    path : Path
        A ``<name>.json`` file.

    Returns
    -------
    tuple
        The JSON object, or None and a one-line reason (unreadable, malformed, not an object).
    """
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            return None, f"too large ({path.stat().st_size} bytes; at most {MAX_TABLE_BYTES} are read)"
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        return None, f"unreadable ({type(exc).__name__}: {exc})"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"malformed JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"not a JSON object (a {type(data).__name__})"
    return data, None


def _valid_png(data: bytes) -> bool:
    if not data.startswith(PNG_SIGNATURE):
        return False
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception:  # any decoder failure (OSError, SyntaxError, a bomb warning) means "not usable"
        return False
    return True


@dataclass
class ResultTables:
    """The parsed result tables of one folder.

    ``data`` holds every JSON object of the folder by file stem, ``problems`` every file that could
    not be used and why.
    """

    folder: Path
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> dict[str, Any] | None:
        """The table ``name`` (a file stem), or None when it is missing or unusable."""
        return self.data.get(name)

    def has_any(self, *names: str) -> bool:
        """Whether any of ``names`` is in the folder (usable or not)."""
        return any(n in self.data or n in self.problems for n in names)

    def absent_note(self, name: str) -> str | None:
        """Why the table ``name`` is not shown (None when it is there), with the command that writes it."""
        if name in self.data:
            return None
        why = self.problems.get(name, "not run")
        return f"{name}: {why}; produce it with {command_for(name)}"

    def figure(self, name: str, rel: Any) -> bytes | None:
        """The PNG bytes of the figure ``rel`` listed by the table ``name``, or None.

        ``rel`` is relative to the folder of the table (``attribution_mini/confusion.png``); a path
        written relative to another folder (``results/attribution_mini/confusion.png``) is looked
        up by its file name in ``<folder>/<name>/``. Only a file inside the folder that decodes as
        a PNG is returned, so a table cannot make the report embed another file.
        """
        if not isinstance(rel, str) or not rel:
            return None
        root = self.folder.resolve()
        for cand in (self.folder / rel, self.folder / name / PurePosixPath(rel).name):
            try:
                path = cand.resolve()
                if not path.is_relative_to(root) or not path.is_file() or path.stat().st_size > MAX_FIGURE_BYTES:
                    continue
                png = path.read_bytes()
            except (OSError, ValueError):
                continue
            if _valid_png(png):
                return png
        return None


def find_tables_folder(study: Path) -> Path | None:
    """Where the result tables of ``study`` are: ``study/tables``, ``study`` itself, or None.

    ``study`` itself counts when it holds one of the known tables (``bench/results``).
    """
    sub = study / "tables"
    if sub.is_dir():
        return sub
    if any((study / f"{n}.json").is_file() for n in KNOWN_TABLES):
        return study
    return None


def read_tables(folder: str | Path) -> ResultTables:
    """Parse every ``*.json`` of ``folder`` (missing folder: an empty result).

    Parameters
    ----------
    folder : str or Path
        A folder of result tables.

    Returns
    -------
    ResultTables
        The usable tables and the problems of the others.
    """
    out = ResultTables(Path(folder))
    try:
        files = sorted(p for p in out.folder.glob("*.json") if p.is_file())
    except OSError:
        files = []
    for path in files:
        data, why = read_table(path)
        if data is None:
            out.problems[path.stem] = why or "unusable"
        else:
            out.data[path.stem] = data
    return out


def num(x: Any) -> float | None:
    """``x`` as a finite float, or None (for missing, text, NaN and booleans)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def pct(x: Any, digits: int = 1) -> str:
    """A share as a percentage (``97.5 %``), ``-`` when not a number."""
    v = num(x)
    return "-" if v is None else f"{100 * v:.{digits}f} %"


def fixed(x: Any, digits: int = 2, *, sign: bool = False) -> str:
    """A number with ``digits`` decimals (and a sign when asked), ``-`` when not a number."""
    v = num(x)
    return "-" if v is None else f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def sci(x: Any) -> str:
    """A small number in 2-significant-digit notation (p-values), ``-`` when not a number."""
    v = num(x)
    return "-" if v is None else f"{v:.2g}"


def as_dict(x: Any) -> dict[str, Any]:
    """``x`` when it is a dict, else an empty one (a malformed table yields nothing, not a crash)."""
    return x if isinstance(x, dict) else {}


def as_list(x: Any) -> list[Any]:
    """``x`` when it is a list, else an empty one."""
    return x if isinstance(x, list) else []


def dict_rows(x: Any) -> list[dict[str, Any]]:
    """The dict items of the list ``x`` (anything else in it is skipped)."""
    return [r for r in as_list(x) if isinstance(r, dict)]


SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError)


def add_guarded(sec: Any, name: str, build: Any) -> bool:
    """Run ``build(part)`` on an empty copy of the section ``sec``, then merge the part into ``sec``.

    A table whose content has an unexpected shape makes ``build`` raise; the section then gets one
    note naming the table and nothing half-built, and the report goes on.

    Parameters
    ----------
    sec : Section
        The section to extend.
    name : str
        The table ``build`` reads (for the note).
    build : callable
        Fills a :class:`~srprint.report.section.Section` with tables, figures, facts and notes.

    Returns
    -------
    bool
        Whether the part was added (and the section therefore ran).
    """
    part = type(sec)(sec.key, sec.title, ran=False)
    try:
        build(part)
    except SHAPE_ERRORS as exc:
        sec.notes.append(f"{name}: unexpected content ({type(exc).__name__}: {exc}); not shown. "
                         f"Produce it again with {command_for(name)}")
        return False
    if not (part.tables or part.figures or part.facts):
        sec.notes += part.notes
        sec.notes.append(f"{name}: holds none of the entries this section shows; produce it again with "
                         f"{command_for(name)}")
        return False
    sec.ran = True
    for attr in ("tables", "figures", "facts", "notes"):
        getattr(sec, attr).extend(getattr(part, attr))
    return True


def add_table(sec: Any, tables: ResultTables, name: str, build: Any) -> bool:
    """Add what ``build(part, data)`` makes of the table ``name`` to ``sec`` (see :func:`add_guarded`).

    A missing or unusable table adds its note (what is wrong, the command that makes it) instead.
    """
    data = tables.get(name)
    if data is None:
        sec.notes.append(tables.absent_note(name) or "")
        return False
    return add_guarded(sec, name, lambda part: build(part, data))
