"""Progress off a terminal: periodic plain lines, and one line each time a task reaches its total."""

from __future__ import annotations

import io

from rich.console import Console

from srprint.progress import LogLineProgress


def test_log_lines_once_per_completion_even_when_a_task_restarts() -> None:
    buf = io.StringIO()
    prog = LogLineProgress(console=Console(file=buf), every_s=3600.0)
    with prog:
        task = prog.add_task("iterations", total=4)
        for _model in range(3):  # one bar reused for three models, as zoo training does
            for i in range(5):
                prog.update(task, completed=i, total=4)
    lines = buf.getvalue().splitlines()
    assert lines == ["iterations: 4/4 (100%), 0s"] * 3


def test_quiet_prints_nothing() -> None:
    buf = io.StringIO()
    with LogLineProgress(console=Console(file=buf), every_s=0.0, quiet=True) as prog:
        task = prog.add_task("x", total=2)
        prog.advance(task)
        prog.advance(task)
    assert buf.getvalue() == ""
