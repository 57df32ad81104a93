"""The suite and the CLI hold up where they run: a background job (SIGINT ignored), a log (no terminal),
and a packaging tool (the licence field)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .runner import cli_env

REPO = Path(__file__).resolve().parents[2]

# representative hostile tests, cheap enough to run twice (none needs the table's workspace, whose
# trained classifier takes minutes): both SIGINT tests, which failed in a background job before the
# children restored the default disposition, the CLI's own restoration, and a render that must not
# write outside -o
BACKGROUND_TESTS = [
    "tests/hostile/test_interrupt.py::test_sigint_during_zoo_import_manifest",
    "tests/hostile/test_interrupt.py::test_sigint_during_render",
    "tests/hostile/test_suite_robustness.py::test_the_cli_restores_the_default_sigint",
    "tests/render/test_hostile_zoo.py::test_render_of_lying_records_writes_only_under_out",
]


def _ignore_sigint() -> None:
    """What a non-interactive shell does to a job it starts with ``&``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_the_hostile_suite_passes_as_a_background_job(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    check = subprocess.run([sys.executable, "-c", "import signal as s; print(s.getsignal(s.SIGINT) == s.SIG_IGN)"],
                           capture_output=True, text=True, preexec_fn=_ignore_sigint, env=env)
    assert check.stdout.strip() == "True", check  # the job really starts with SIGINT ignored
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                           str(tmp_path / "t"), *BACKGROUND_TESTS], cwd=REPO, capture_output=True, text=True,
                          preexec_fn=_ignore_sigint, stdin=subprocess.DEVNULL, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f"{len(BACKGROUND_TESTS)} passed" in proc.stdout, proc.stdout[-2000:]


SLEEPER = """
import sys, time
from srprint import cli

@cli.app.command("sleepy-test-command")
def _sleepy() -> None:
    print("ready", flush=True)
    time.sleep(120)

cli.main(["sleepy-test-command"])
"""


def test_the_cli_restores_the_default_sigint(tmp_path: Path) -> None:
    """Started with SIGINT ignored, ``srprint`` still stops on Ctrl-C with exit 130."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_ignore_sigint, env=cli_env(tmp_path / "home"), cwd=tmp_path)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


LONG = "the verdict of a long line that a log must keep whole " * 6


def test_piped_output_is_soft_wrapped(tmp_path: Path) -> None:
    """Off a terminal, a long line of srprint's stdout or stderr console stays one line (no 80-column breaks)."""
    code = ("from srprint.progress import console, heading\nfrom srprint.cli_common import stdout\n"
            f"console.print({LONG!r})\nstdout.print({LONG!r})\nheading({LONG!r})\n")
    env = {k: v for k, v in cli_env(tmp_path).items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [line.strip() for line in proc.stdout.splitlines()] == [LONG.strip()]
    lines = [line.strip() for line in proc.stderr.splitlines()]
    assert lines[0] == LONG.strip() and LONG.strip() in lines[1] and len(lines) == 2, proc.stderr


def test_the_licence_is_an_spdx_string() -> None:
    """``project.license`` as a table is deprecated (pip warns); an SPDX expression is the current form."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    build = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    assert any(r.replace(" ", "").startswith("setuptools>=77") for r in build)  # the first to read SPDX strings


def test_no_hostile_case_waits_forever() -> None:
    """Every case has a finite timeout, so a hang (a named pipe) fails the case instead of the run."""
    from .test_cases import CASES

    assert all(0 < c.timeout <= 300 for c in CASES)
