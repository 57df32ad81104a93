"""8 concurrent ``registry add`` and 8 concurrent ``registry check``: no lost row, no "database is locked"."""

from __future__ import annotations

import json
from pathlib import Path

from .runner import popen_cli, run_cli
from .workspace import Workspace


def test_concurrent_registry_add_and_check(ws: Workspace, tmp_path: Path) -> None:
    reg = tmp_path / "reg.sqlite"
    home = tmp_path / "home"
    seed = run_cli(["registry", "add", str(ws.fingerprint), "--name", "owner-0", "--registry", str(reg)], home=home,
                   cwd=tmp_path)
    assert seed.returncode == 0, seed.stderr
    procs = []
    for k in range(1, 9):
        procs.append(popen_cli(["registry", "add", str(ws.fingerprint), "--name", f"owner-{k}", "--registry",
                                str(reg)], home=home, cwd=tmp_path))
        procs.append(popen_cli(["registry", "check", str(ws.fingerprint), "--registry", str(reg), "--json"],
                               home=home, cwd=tmp_path))
    results = [(p.args, *p.communicate(timeout=600), p.returncode) for p in procs]
    for args, _, err, rc in results:
        assert rc == 0, (args, err)
        assert "locked" not in err and "Traceback" not in err, err
    listed = run_cli(["registry", "list", "--registry", str(reg), "--json"], home=home, cwd=tmp_path)
    names = {row["name"] for row in json.loads(listed.stdout)}
    assert names == {f"owner-{k}" for k in range(9)}
    for args, out, _, _ in results:
        if "check" in args:
            verdicts = json.loads(out)
            assert verdicts and all(v["name"].startswith("owner-") for v in verdicts)
