"""The parsing benchmark protocol: options, one run of every section, and the mini study's stage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from srprint.config import srprint_home
from srprint.errors import DatasetError, SrprintError
from srprint.parsing import protocol as proto
from srprint.parsing.protocol import ParsingProtocol, default_work, mini_stage, run_parsing_protocol
from srprint.render.manifest import RenderedDataset, write_manifest

from .conftest import IMPORTED, _FakeEngine

OTHER = "othergan_keras_x4-pretrained"
# the bench's smoke profile (FEN+PN for one epoch), one parser target, two family folds (the render has two)
SMOKE = ParsingProtocol(profile="smoke", targets=("scale",), fen_epochs=1, crossfit_folds=2, tiles=2)
SMOKE_NOTE = replace(SMOKE, note="tiny render")
RESULT_KEYS = {
    "data", "profile", "device", "engine_config", "fen_config", "fen_cv_folds", "fen_cv_shuffles", "n_models",
    "n_images", "timings_s", "note", "heldout_table", "target_scale_arch_heldout", "fen_cv", "fen_schema",
    "fen_all_run", "fen_better_than_baselines", "target_fen_better_than_baselines", "imported",
    "imported_family_out", "imported_family_out_centre", "imported_zoo_only", "imported_zoo_only_centre",
    "target_imported",
}
HEADINGS = ("## 1. Held-out parsers", "## 2. FEN+PN vs baselines", "## 3. Parsers trained on the whole zoo",
            "## 3b. Scale and loss family", "### zoo_only", "### family_out", "## Targets")


def _ctx(out: Path, render: Path | None, device: str = "cpu") -> SimpleNamespace:
    # duck-typed StudyContext: the stage reads only these attributes
    return SimpleNamespace(out=out, device=device, zoo_dir=out / "zoo", tables_dir=out / "tables",
                           results={"render": {"render": str(render)}} if render else {})


@pytest.fixture(scope="module")
def family_render(parsing_render: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny parsing render plus a second imported family (family-out needs two families)."""
    frame = RenderedDataset.open(parsing_render).frame
    extra = frame[frame["model_id"] == IMPORTED[0]].copy()
    extra["model_id"] = OTHER
    extra["scale"] = 4
    extra["labels_json"] = json.dumps({"id": OTHER, "loss": "GAN+VGG", "source": "imported"})
    root = tmp_path_factory.mktemp("family_render")
    for child in parsing_render.iterdir():
        if child.is_dir():
            (root / child.name).symlink_to(child)
    write_manifest(root, pd.concat([frame, extra]).to_dict("records"))
    return root


class _ResumingFakeEngine(_FakeEngine):
    """The parsing tests' fake classifier engine, which, like the real one, reuses a finished run."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Path] = []  # every classifier actually trained

    def train_classifier(self, root, train_df, val_df, label, out, cfg, device="cpu", meta=None):  # noqa: ANN001, ANN201
        if (Path(out) / "fake.json").is_file():
            return Path(out)
        self.runs.append(Path(out))
        return super().train_classifier(root, train_df, val_df, label, out, cfg, device=device, meta=meta)


@pytest.fixture(scope="module")
def engine() -> Iterator[_ResumingFakeEngine]:
    """The classifier engine faked for the whole module (the engine has tests of its own; FEN+PN is real)."""
    import srprint.classify.predict as predict
    import srprint.classify.train as training

    fake = _ResumingFakeEngine()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "train_classifier", fake.train_classifier)
        mp.setattr(predict, "load_classifier", lambda run, device="cpu", **_: fake.load_classifier(run))
        mp.setattr(predict, "predict_frame",
                   lambda clf, root, df, **kw: fake.predict_frame(getattr(clf, "run", clf), root, df, **kw))
        yield fake


@pytest.fixture(scope="module")
def full_run(
    family_render: Path, engine: _ResumingFakeEngine, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], str]:
    """Every section once, smoke profile, as ``bench/parsing_mini.py`` without ``--skip``."""
    work = tmp_path_factory.mktemp("protocol_work")
    result, markdown = run_parsing_protocol(family_render, work=work, protocol=SMOKE_NOTE, device="cpu",
                                            name="parsing_test")
    return work, result, markdown


def _weights(folder: Path) -> dict[Path, int]:
    """Modification times of the FEN+PN networks under ``folder`` (a retrained one gets a new time)."""
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and p.suffix in {".safetensors", ".pt", ".pth"}}


def test_protocol_options_are_checked_before_anything_runs() -> None:
    with pytest.raises(SrprintError, match="unknown parsing profile 'huge'; known: cpu, gpu, smoke"):
        ParsingProtocol(profile="huge")
    with pytest.raises(SrprintError, match="section.*tabel"):
        ParsingProtocol(sections=("tabel",))
    with pytest.raises(SrprintError, match="cross-fit protocol.*family"):
        ParsingProtocol(crossfit_protocols=("family",))
    with pytest.raises(SrprintError, match="tiles"):
        ParsingProtocol(tiles=0)
    with pytest.raises(DatasetError, match="no render to parse"):
        run_parsing_protocol(None, protocol=SMOKE)
    # the bench's overrides change a copy, never the shared profile table
    s = ParsingProtocol(profile="cpu", folds=5, fen_epochs=9, max_per_class=7).settings()
    assert (s["folds"], s["fen"]["epochs"], s["engine"]["max_per_class"]) == (5, 9, 7)
    assert proto.PROFILES["cpu"]["fen"]["epochs"] == 6 and proto.PROFILES["cpu"]["folds"] == 3
    assert default_work("parsing_mini_fen") == srprint_home() / "bench" / "parsing_mini_fen"


def test_every_section_gives_the_bench_keys_and_headings(
    full_run: tuple[Path, dict[str, Any], str], engine: _ResumingFakeEngine
) -> None:
    work, result, markdown = full_run
    assert set(result) >= RESULT_KEYS, RESULT_KEYS - set(result)
    assert result["profile"] == "smoke" and result["engine_config"]["backbone"] == "test_convnext"
    assert result["n_models"] == 9  # six zoo models, two imported, HR
    assert set(result["timings_s"]) >= {"table", "fen", "imported", "imported_family_out", "imported_zoo_only"}
    # the two held-out architectures were parsed for scale
    assert {c["holdout"] for c in result["heldout_table"]["cells"] if c["status"] == "done"} >= {"arch=RCAN",
                                                                                                 "arch=EDSR"}
    # the fake engine parses every RCAN image wrong: holding out RCAN gives the worst scale accuracy
    assert result["target_scale_arch_heldout"] == {"min_accuracy": 0.0, "target": 0.99, "met": False}
    # 4 held-out cells, 3 Figure 6 parsers, 2 x 2 family-out and 2 zoo-only parsers; the centre-crop
    # scores reuse the tiled runs
    assert len(engine.runs) == len(set(engine.runs)) == 13
    assert len(result["fen_better_than_baselines"]) == 6  # 1 / 10 / 100 images x two baselines
    assert result["imported_family_out"]["tiles"] == 2 and result["imported_family_out_centre"]["tiles"] == 1
    assert result["target_imported"]["protocol"] in {"family_out", "zoo_only"}
    positions = [markdown.find(h) for h in HEADINGS]
    assert all(p >= 0 for p in positions), dict(zip(HEADINGS, positions, strict=True))
    assert positions == sorted(positions)
    assert markdown.startswith("# Parsing benchmark (parsing_test, profile smoke)")
    assert "**tiny render**" in markdown
    assert (work / "table" / "table.md").is_file() and (work / "crossfit-family_out-pm40" / "crossfit.md").is_file()
    json.dumps(result, default=str)  # what write_table stores


def test_skipped_sections_leave_no_keys(
    full_run: tuple[Path, dict[str, Any], str], family_render: Path, engine: _ResumingFakeEngine
) -> None:
    work, _, _ = full_run
    trained = len(engine.runs)
    # the Figure 6 table and the zoo-only protocol alone, reusing the full run's parsers
    result, markdown = run_parsing_protocol(
        family_render, work=work, device="cpu",
        protocol=replace(SMOKE, sections=("imported", "imported_table"), crossfit_protocols=("zoo_only",)))
    assert "heldout_table" not in result and "fen_cv" not in result and "imported_family_out" not in result
    assert result["target_imported"]["protocol"] == "zoo_only"
    assert "## 1." not in markdown and "## 2." not in markdown and "### zoo_only" in markdown
    assert len(engine.runs) == trained


def test_mini_stage_writes_three_tables_from_the_bench_runs(
    full_run: tuple[Path, dict[str, Any], str], family_render: Path, engine: _ResumingFakeEngine, tmp_path: Path
) -> None:
    work, full, _ = full_run
    # the bench ran every section in one folder; the sections' subfolders are disjoint, so pointing
    # each section's default work folder there is what `bench/parsing_mini.py --name <table>` left
    for name, _ in proto.MINI_TABLES:
        default_work(name).parent.mkdir(parents=True, exist_ok=True)
        default_work(name).symlink_to(work)
    before, trained = _weights(work), len(engine.runs)
    assert before  # the full run trained FEN+PN networks
    summary = mini_stage(_ctx(tmp_path, family_render), protocol=SMOKE)
    assert _weights(work) == before and len(engine.runs) == trained  # nothing retrained: every run reused
    tables = tmp_path / "tables"
    assert summary["tables"] == [str(tables / f"{n}.json") for n, _ in proto.MINI_TABLES]
    assert summary["profile"] == "smoke" and "imported_skipped" not in summary
    assert summary["scale_arch_heldout_min"] == full["target_scale_arch_heldout"]["min_accuracy"]
    won = full["target_fen_better_than_baselines"]
    assert summary["fen_wins"] == f"{won['comparisons_won']}/{won['of']}"
    assert summary["imported_scale"] == full["target_imported"]["scale_accuracy"]
    json.dumps(summary)  # a study stage's summary is stored as JSON
    for (name, _), heading in zip(proto.MINI_TABLES, ("## 1.", "## 2.", "## 3."), strict=True):
        data = json.loads((tables / f"{name}.json").read_text())
        md = (tables / f"{name}.md").read_text()
        assert data["machine"]["cpu_count"] and data["profile"] == "smoke"
        assert md.startswith(f"# Parsing benchmark ({name}, profile smoke)\n\n_commit ")
        assert heading in md
        others = {"## 1.", "## 2.", "## 3."} - {heading}
        assert not any(h in md for h in others), name
    assert "fen_cv" not in json.loads((tables / "parsing_mini_table.json").read_text())


def test_mini_stage_picks_the_device_profile_and_skips_missing_imports(
    tiny_render: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, ParsingProtocol]] = []

    def fake_run(data: Any, *, protocol: ParsingProtocol, device: str, name: str, **_: Any) -> tuple[dict, str]:
        calls.append((name, protocol))
        return {"device": device}, f"# {name}\n\nbody\n"

    monkeypatch.setattr(proto, "run_parsing_protocol", fake_run)
    summary = mini_stage(_ctx(tmp_path, tiny_render, device="cuda:0"))  # no imported model in this render
    assert [n for n, _ in calls] == ["parsing_mini_table", "parsing_mini_fen"]
    assert [p.sections for _, p in calls] == [("table",), ("fen",)]
    assert {p.profile for _, p in calls} == {"gpu"} and summary["profile"] == "gpu"
    assert summary["imported_skipped"] == "the render has no imported models"
    assert not (tmp_path / "tables" / "parsing_mini_imported.json").exists()
    calls.clear()
    assert mini_stage(_ctx(tmp_path, tiny_render, device="cpu"))["profile"] == "cpu"
    assert {p.profile for _, p in calls} == {"cpu"}


def test_mini_stage_without_a_render_says_so(tmp_path: Path) -> None:
    with pytest.raises(SrprintError, match="no render"):
        mini_stage(_ctx(tmp_path, None))
    with pytest.raises(DatasetError, match="not a rendered dataset"):
        mini_stage(_ctx(tmp_path, tmp_path / "missing"))
