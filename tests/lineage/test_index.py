"""The lineage index folder: duplicates, corruption and repair, a kill during add, concurrent writers, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from srprint.errors import SrprintError
from srprint.lineage.build import index_models
from srprint.lineage.query import query_file
from srprint.lineage.store import IndexCorruptError, LineageIndex

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}


def _srprint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "srprint.cli", *args], capture_output=True, text=True,
                          env=_env(), timeout=300, check=False)


def test_duplicates_are_reported_not_added(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["r1"].path, population["r2"].path], d)
    res = index_models([population["r1"].path, population["renamed"].path, population["permuted"].path], d)
    assert [(r.status, r.of) for r in res["results"]] == [("duplicate", "EDSR-tiny-x2-r1")] * 3
    assert "same function" in res["results"][2].reason
    assert LineageIndex(d).groups() == {"sr-x2": 2}


def test_remove_then_add_again(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["r1"].path, population["r2"].path], d)
    LineageIndex(d).remove("EDSR-tiny-x2-r1")
    assert [r.model_id for r in LineageIndex(d).records()] == ["EDSR-tiny-x2-r2"]
    res = index_models([population["r1"].path], d)
    assert res["results"][0].status == "added" and LineageIndex(d).groups() == {"sr-x2": 2}


def test_corrupt_index_is_refused_and_repaired(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["zoo"]], d)
    vec = next((d / "vectors").iterdir())
    vec.write_bytes(vec.read_bytes()[:100])  # a copy cut short
    with pytest.raises(IndexCorruptError, match="--repair"):
        query_file(population["fp16"].path, d)
    r = _srprint("lineage", "query", str(population["fp16"].path), "--index", str(d))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and "--repair" in r.stderr
    assert LineageIndex(d).repair() == {"sr-x2": 4}
    assert query_file(population["fp16"].path, d)["answer"] == "same model"


def test_the_index_survives_a_kill_during_add(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["r1"].path, population["r2"].path], d)
    # the worst moment: the new vector file is written, the records are not yet committed
    code = textwrap.dedent(f"""
        import os, signal
        from srprint.lineage import store
        from srprint.lineage.build import index_models
        real = store.LineageIndex._commit_vectors
        def killed(self, *a, **k):
            real(self, *a, **k)
            os.kill(os.getpid(), signal.SIGKILL)
        store.LineageIndex._commit_vectors = killed
        index_models([{str(population['r3'].path)!r}], {str(d)!r})
    """)
    r = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == -9, r.stderr
    ix = LineageIndex(d)
    assert ix.check() == {"sr-x2": 2}  # the previous generation is still in force
    assert query_file(population["renamed"].path, d)["match"] == "EDSR-tiny-x2-r1"
    assert ix.repair() == {"sr-x2": 2}
    res = index_models([population["r3"].path], d)  # the interrupted add, again
    assert res["results"][0].status == "added" and LineageIndex(d).check() == {"sr-x2": 3}
    assert len(list((d / "vectors").iterdir())) == 1  # the orphan generation was swept


def test_two_processes_adding_at_once_lose_nothing(population, tmp_path):
    d = tmp_path / "ix"
    index_models([population["r1"].path], d)
    procs = [subprocess.Popen([sys.executable, "-m", "srprint.cli", "lineage", "index", str(population[n].path),
                               "--index", str(d)], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for n in ("r2", "r3", "r4")]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    assert LineageIndex(d).check() == {"sr-x2": 4}


def test_a_file_no_importer_reads_indexes_nothing(tmp_path):
    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"not a checkpoint at all" * 50)
    r = _srprint("lineage", "index", str(bad), "--index", str(tmp_path / "ix"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("args", [
    ["lineage", "query", "/no/such/file.pth", "--index", "IX"],
    ["lineage", "query", "ZOO", "--index", "IX"],
    ["lineage", "tree", "--index", "/no/such/index", "-o", "OUT/t.json"],
    ["lineage", "tree", "--index", "IX", "-o", "OUT/t.json", "--from", "everywhere"],
    ["lineage", "index", "--index", "IX"],
    ["lineage", "index", "--remove", "nobody", "--index", "IX"],
    ["lineage", "query", "ZOO", "--index", "IX", "--k", "0"],
])
def test_hostile_cli_is_one_error_line(population, tmp_path, args):
    ix = tmp_path / "ix"
    index_models([population["r1"].path], ix)
    sub = {"IX": str(ix), "ZOO": str(population["zoo"]), "OUT": str(tmp_path)}
    r = _srprint(*[sub.get(a, a.replace("OUT", str(tmp_path))) for a in args])
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr


def test_garbage_records_are_refused(tmp_path):
    d = tmp_path / "ix"
    d.mkdir()
    (d / "records.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(SrprintError, match="corrupt"):
        LineageIndex(d)


def test_sketching_fans_out_through_the_executor(population, tmp_path):
    from srprint.lineage.build import sketch_all

    paths = [population["r1"].path, population["r2"].path]
    one, _ = sketch_all(paths)
    two, failed = sketch_all(paths, jobs=2)
    assert not failed and [d["id"] for d in two] == [d["id"] for d in one]
    assert all(a["sketch"] == b["sketch"] and a["sha256"] == b["sha256"] for a, b in zip(one, two, strict=True))
