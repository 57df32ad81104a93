"""Rich progress bars shared by every long loop (quiet when ``SRPRINT_QUIET=1``)."""

from __future__ import annotations

import os

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def make_progress(rate_unit: str | None = None) -> Progress:
    """A progress bar on stderr; ``rate_unit`` adds a speed column (e.g. ``img``)."""
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(),
    ]
    if rate_unit:
        columns.append(TextColumn("{task.fields[rate]}"))
    return Progress(*columns, console=console, disable=os.environ.get("SRPRINT_QUIET") == "1", transient=False)
