"""Every hostile case through the real CLI: exit code, one clear line, no traceback, nothing lost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from . import cases, cases_records
from .cases import Case
from .runner import cli_env, error_lines, readonly_is_enforced, run_cli
from .workspace import Workspace, tree_digest


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"")
            for p in sorted(out.rglob("*"))}


CASES: list[Case] = [*cases.CASES, *cases_records.CASES]  # the table: the first round, then the second


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_case(case: Case, ws: Workspace, tmp_path: Path) -> None:
    if case.unprivileged and not readonly_is_enforced():
        pytest.skip("this machine cannot make a folder read-only for root (prctl refused)")
    out = tmp_path / "out"
    out.mkdir()
    if case.setup:
        case.setup(ws, out)
    before_ws, before_out = tree_digest(ws.root), _snapshot(out)
    try:
        env = cli_env(tmp_path / "home", **case.env) if case.env else None
        proc = run_cli(case.args(ws, out), home=tmp_path / "home", cwd=out if case.cwd_out else tmp_path,
                       unprivileged=case.unprivileged, env=env, file_size_limit=case.file_size_limit,
                       timeout=case.timeout)
    finally:
        for p in [out, *out.rglob("*")]:  # undo read-only set-ups so pytest can clean up
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
    shown = f"rc={proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, shown
    assert proc.returncode == case.rc, shown
    errors = error_lines(proc.stderr)
    if case.rc != 0:
        assert len(errors) == 1, shown
        assert errors[0].startswith("error: "), shown
        if case.error:
            assert re.search(case.error, errors[0]), shown
    else:
        assert not errors, shown
    if case.stderr:
        assert re.search(case.stderr, proc.stderr), shown
    assert tree_digest(ws.root) == before_ws, "the workspace (inputs) changed"
    outside = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("out", "home"))
    assert not outside, f"written outside the output folder: {outside}"
    assert not ws.marker.exists(), "a payload ran"
    after_out = _snapshot(out)
    if case.rc != 0:
        # a refused command leaves what was there untouched, and half-written outputs nowhere
        for rel, data in before_out.items():
            assert after_out.get(rel) == data, f"{rel} changed or vanished"
        # (a hidden lock file is kept on purpose: flock locks one file, which must never be deleted)
        new = [rel for rel in after_out if rel not in before_out and not rel.startswith("home")
               and not (Path(rel).name.startswith(".") and rel.endswith(".lock"))]
        assert not new, f"left behind: {new}"
    if case.no_output:
        assert set(after_out) == set(before_out)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
