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
    preset = run_module.Preset(stages=tuple(run_module.Stage(n, stages.stage(n), 1.0) for n in ("a", "b", "c")),
                               recipe_guard=True)
    monkeypatch.setitem(run_module.PRESETS, "demo", preset)


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
    with pytest.raises(SrprintError, match=r"'paper' needs data that is missing: DIV2K .*expected at .*datasets/div2k"):
        run_study("paper", out=tmp_path / "p")
    with pytest.raises(SrprintError, match="unknown study preset"):
        run_study("nope", out=tmp_path / "n")
    with pytest.raises(SrprintError, match="unknown stage"):
        run_study("demo", out=tmp_path / "d", skip=("render", "nope"))
    assert not any(tmp_path.iterdir())


def test_a_preset_needing_absent_data_names_each_missing_item_and_starts_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRPRINT_SHARED", str(tmp_path / "no-shared"))
    with pytest.raises(SrprintError) as err:
        run_study("mini", out=tmp_path / "m")
    msg = str(err.value)
    assert "\n" not in msg and "render corpus" in msg and str(tmp_path / "no-shared" / "data" / "images") in msg
    assert not (tmp_path / "m").exists()


def test_with_the_data_in_place_the_paper_preset_passes_its_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    for name in ("div2k", "flickr2k"):
        (home / "datasets" / name).mkdir(parents=True)
    monkeypatch.setenv("SRPRINT_HOME", str(home))
    assert run_module.missing_data("paper") == []
    assert [s.name for s in run_module.check_preset("paper").stages][:2] == ["zoo", "render"]


def test_every_preset_stage_names_an_importable_function() -> None:
    for preset in run_module.PRESETS.values():
        for st in preset.stages:
            assert callable(run_module._load_stage(st.fn)), st.fn


def test_the_stage_banner_sums_the_estimates_of_what_is_left() -> None:
    stages = [run_module.Stage("a", "m:f", 60.0), run_module.Stage("b", "m:f", 7200.0)]
    line = run_module.stage_banner("mini", 0, stages)
    assert line.startswith("mini: a (about 60 s); 2 stage(s) to go, about 2.0 h left")
    assert run_module.stage_banner("mini", 1, stages).startswith("mini: b (about 2.0 h); 1 stage(s) to go, about 2.0 h")
    unknown = run_module.stage_banner("paper", 0, [run_module.Stage("z", "m:f", None), *stages])
    assert "z (about unknown)" in unknown and "about unknown left" in unknown
