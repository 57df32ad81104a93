"""Rich progress bars shared by every long loop, on stderr (quiet when ``SRPRINT_QUIET=1``).

On a terminal the bar is live. Elsewhere (a pipe, a CI log, ``nohup``) rich would draw it only at
the end, so :class:`LogLineProgress` prints one plain line per task every ``SRPRINT_PROGRESS_EVERY``
seconds (default 30; a value that is not a number is an error naming the variable) and when the
task finishes. Off a terminal, lines are soft-wrapped: never broken at 80 columns.
"""

from __future__ import annotations

import os
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)
# a log (pipe, file, CI) gets whole lines: a long line is left to the reader's viewer, never broken at 80 columns
console.soft_wrap = not console.is_terminal


def heading(text: str) -> None:
    """A section heading on stderr: a rule on a terminal, one plain line in a log."""
    if console.is_terminal:
        console.rule(text, style="blue")
    else:
        console.print(f"--- {text} ---")


class LogLineProgress(Progress):
    """A :class:`rich.progress.Progress` that logs periodic lines instead of redrawing a bar."""

    def __init__(self, *columns: Any, every_s: float = 30.0, quiet: bool = False, **kwargs: Any) -> None:
        super().__init__(*columns, disable=True, **kwargs)
        self.every_s = every_s
        self.quiet = quiet
        self._last: dict[TaskID, float] = {}
        self._ended: dict[TaskID, float] = {}

    def _log(self, task_id: TaskID, force: bool = False) -> None:
        if self.quiet:
            return
        task = self._tasks[task_id]
        now = time.monotonic()
        if not force and now - self._last.get(task_id, task.start_time or now) < self.every_s:
            return
        self._last[task_id] = now
        total = f"/{task.total:g}" if task.total is not None else ""
        pct = f" ({task.percentage:.0f}%)" if task.total else ""
        eta = f", about {task.time_remaining:.0f}s left" if task.time_remaining and not force else ""
        elapsed = task.elapsed or 0.0
        self.console.file.write(f"{task.description}: {task.completed:g}{total}{pct}, {elapsed:.0f}s{eta}\n")
        self.console.file.flush()

    def _just_finished(self, task_id: TaskID) -> bool:
        # rich keeps a task "finished" once it reached its total, even when a caller restarts it
        # (one iterations bar per trained model): log the end once per time the total is reached
        task = self._tasks[task_id]
        done = task.total is not None and task.completed >= task.total
        if done and self._ended.get(task_id) != task.completed:
            self._ended[task_id] = task.completed
            return True
        if not done:
            self._ended.pop(task_id, None)
        return False

    def update(self, task_id: TaskID, **kwargs: Any) -> None:  # type: ignore[override]
        super().update(task_id, **kwargs)
        self._log(task_id, force=self._just_finished(task_id))

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id, force=self._just_finished(task_id))


def make_progress(rate_unit: str | None = None) -> Progress:
    """A progress display on stderr; ``rate_unit`` adds a speed column (e.g. ``img``)."""
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(),
    ]
    if rate_unit:
        columns.append(TextColumn("{task.fields[rate]}"))
    quiet = os.environ.get("SRPRINT_QUIET") == "1"
    if not console.is_terminal:
        from .io.env import env_number

        every = env_number("SRPRINT_PROGRESS_EVERY", 30.0, minimum=0.0)
        return LogLineProgress(*columns, console=console, every_s=every, quiet=quiet)
    return Progress(*columns, console=console, disable=quiet, transient=False)
