"""Two ``srprint study --preset demo`` on one home at once: one finishes and writes its report, the other
refuses in one line (or, with ``--wait``, waits and then finishes too).

The demo's real stages take minutes; here the real ``srprint study`` entry point (``cli.main``) runs the
demo preset with one stand-in stage that holds the study until the test releases it, so the two runs
are certain to overlap. Everything else (locks, recipe guard, stage records, report) is the real code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.hostile.runner import cli_env, error_lines

SCRIPT = """
import sys, time
from pathlib import Path
from srprint.study import run

gate = Path(sys.argv[1])

def held(ctx):
    (gate / "started").touch()
    t0 = time.monotonic()
    while not (gate / "release").exists():
        if time.monotonic() - t0 > 300:
            raise SystemExit("never released")
        time.sleep(0.05)
    return {"held": True}

run.PRESETS["demo"] = run.Preset(stages=(run.Stage("held", held, 1),), recipe_guard=True)
from srprint.cli import main
main(sys.argv[2:])
"""


def _study(gate: Path, home: Path, cwd: Path, *args: str, stderr=subprocess.PIPE) -> subprocess.Popen[str]:  # noqa: ANN001
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(gate), "study", "--preset", "demo", *args],
                            cwd=cwd, env=cli_env(home, OMP_NUM_THREADS="1"), stdout=subprocess.PIPE, stderr=stderr,
                            text=True)


def _until(ready, what: str, timeout: float = 240.0) -> None:  # noqa: ANN001
    t0 = time.monotonic()
    while not ready():
        assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_demo_studies_on_one_home(tmp_path: Path) -> None:
    home, gate = tmp_path / "home", tmp_path / "gate"
    gate.mkdir()
    first = _study(gate, home, tmp_path)
    try:
        _until(lambda: (gate / "started").exists() or first.poll() is not None, "the first study to start")
        assert first.poll() is None, first.communicate()
        # a second study on the same home (another study folder) refuses at once, in one line
        second = _study(gate, home, tmp_path, "-o", str(tmp_path / "elsewhere"))
        _, err = second.communicate(timeout=240)
        assert second.returncode == 2, err
        assert "Traceback" not in err
        lines = error_lines(err)
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "in use by srprint pid" in lines[0] and "--wait" in lines[0], err
        assert not (tmp_path / "elsewhere").exists()
        # a third one waits for the first, then finishes on what it left
        log = tmp_path / "third.err"
        with open(log, "w") as fh:
            third = _study(gate, home, tmp_path, "--wait", stderr=fh)
            _until(lambda: "waiting for srprint pid" in log.read_text() or third.poll() is not None,
                   "the third study to wait")
            assert third.poll() is None, log.read_text()
            (gate / "release").touch()
            out, err = first.communicate(timeout=240)
            assert first.returncode == 0, err
            assert (home / "demo" / "report.html").is_file()
            assert (home / "demo" / "stages" / "held.json").is_file()
            third.communicate(timeout=240)
        err3 = log.read_text()
        assert third.returncode == 0, err3
        assert "Traceback" not in err3
        assert "held finished before" in err3  # it resumed the first one's work instead of redoing it
    finally:
        (gate / "release").touch()
        for p in [first]:
            if p.poll() is None:
                p.kill()


def test_a_killed_study_leaves_no_stale_lock(tmp_path: Path) -> None:
    home, gate = tmp_path / "home", tmp_path / "gate"
    gate.mkdir()
    first = _study(gate, home, tmp_path)
    _until(lambda: (gate / "started").exists() or first.poll() is not None, "the study to start")
    first.kill()
    first.communicate(timeout=60)
    os.remove(gate / "started")
    (gate / "release").touch()
    again = _study(gate, home, tmp_path)
    _, err = again.communicate(timeout=240)
    assert again.returncode == 0, err
    assert (home / "demo" / "report.html").is_file()
