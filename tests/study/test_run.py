"""``srprint study`` (and so ``srprint demo``): resumes after a kill, and never mixes in an older recipe's folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srprint.errors import SrprintError
from srprint.study import run as run_module
from srprint.study.run import RECIPE_FILE, run_study
from srprint.study.run import retire_stale as _retire_stale


def test_a_folder_of_another_recipe_is_moved_aside_never_deleted(tmp_path: Path) -> None:
    old = tmp_path / "demo"
    (old / "render").mkdir(parents=True)
    (old / "render" / "a.png").write_bytes(b"old")
    _retire_stale(old, "new-key")
    assert (tmp_path / "demo.recipe-old" / "render" / "a.png").read_bytes() == b"old"
    assert sorted(p.name for p in old.iterdir()) == [RECIPE_FILE]
    assert json.loads((old / RECIPE_FILE).read_text()) == {"train_key": "new-key"}
    (old / "render").mkdir()
    _retire_stale(old, "new-key")  # same recipe: kept as it is
    assert (old / "render").is_dir()
    _retire_stale(old, "newer-key")  # another recipe again: a second, distinct folder aside
    assert (tmp_path / "demo.recipe-new-key" / "render").is_dir()
    assert (tmp_path / "demo.recipe-old" / "render" / "a.png").is_file()


def test_an_empty_or_missing_folder_just_gets_the_recipe(tmp_path: Path) -> None:
    _retire_stale(tmp_path / "fresh", "k")
    assert json.loads((tmp_path / "fresh" / RECIPE_FILE).read_text()) == {"train_key": "k"}
    assert [p.name for p in tmp_path.iterdir()] == ["fresh"]


class _Stages:
    """Three stand-in stages; the second is killed (Ctrl-C) the first time it runs."""

    def __init__(self, kill_second: bool) -> None:
        self.calls: list[str] = []
        self.kill_second = kill_second

    def stage(self, name: str):  # noqa: ANN201
        def run(ctx) -> dict:  # noqa: ANN001
            self.calls.append(name)
            if name == "b" and self.kill_second:
                self.kill_second = False
                raise KeyboardInterrupt
            (ctx.out / f"{name}.txt").write_text(name)
            return {"value": len(ctx.results) * 10 + len(name), "seen": sorted(ctx.results)}
        return run


def _preset(monkeypatch: pytest.MonkeyPatch, stages: _Stages) -> None:
    monkeypatch.setitem(run_module.PRESETS, "demo", tuple((n, stages.stage(n)) for n in ("a", "b", "c")))


def test_a_killed_study_resumes_with_the_same_numbers_and_redoes_no_finished_stage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    killed = _Stages(kill_second=True)
    _preset(monkeypatch, killed)
    with pytest.raises(KeyboardInterrupt):
        run_study("demo", out=tmp_path / "killed", device="cpu")
    assert killed.calls == ["a", "b"]
    (tmp_path / "killed" / "stages" / "c.json").write_text('{"half-wri')  # a write the kill cut short
    resumed = run_study("demo", out=tmp_path / "killed", device="cpu")
    assert killed.calls == ["a", "b", "b", "c"]  # a is not redone
    clean = _Stages(kill_second=False)
    _preset(monkeypatch, clean)
    whole = run_study("demo", out=tmp_path / "clean", device="cpu")
    for name in ("a", "b", "c"):
        assert {k: v for k, v in resumed[name].items() if k != "seconds"} == \
            {k: v for k, v in whole[name].items() if k != "seconds"}
    assert Path(resumed["report"]).is_file()
    again = _Stages(kill_second=False)
    _preset(monkeypatch, again)
    run_study("demo", out=tmp_path / "clean", device="cpu")
    assert again.calls == []  # everything finished: nothing is redone


def test_unknown_presets_and_stages_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(SrprintError, match="not built yet"):
        run_study("paper", out=tmp_path / "p")
    with pytest.raises(SrprintError, match="unknown study preset"):
        run_study("nope", out=tmp_path / "n")
    with pytest.raises(SrprintError, match="unknown stage"):
        run_study("demo", out=tmp_path / "d", skip=("render", "nope"))
    assert not any(tmp_path.iterdir())
