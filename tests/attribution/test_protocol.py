"""The attribution benchmark protocols as library functions: results, Markdown, the study's stages, cached runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from srprint.attribution.backbones_protocol import BackbonesProtocol, backbones_markdown, run_backbones_protocol
from srprint.attribution.protocol import (
    AttributionProtocol,
    attribution_markdown,
    backbones_stage,
    mini_stage,
    published_stage,
    run_attribution_protocol,
)
from srprint.errors import DatasetError, SrprintError
from srprint.study.run import StudyContext

from .conftest import HOLDOUT

RESULT_KEYS = {
    "name", "data", "where", "holdout", "device", "classifier", "config", "summary", "targets", "timings", "cnn",
    "cnn_centre_crop", "prnu", "prnu_ncc", "prnu_by_crop", "embed", "figures",
}
# a budget of seconds: one epoch of the 0.2M-parameter test ConvNeXt, 2 x 2 tiles, one extra PRNU crop
TINY = AttributionProtocol(
    holdout=HOLDOUT, backbone="test_convnext", crop=32, head_epochs=0, epochs=1, batch_size=4, lr=2e-3,
    jpeg_augment=0.5, jpeg_quality_min=65, prnu_extra_crops=(24,), tiles=2, note="tiny render",
)


@pytest.fixture(scope="module")
def bench_run(tiny_render: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The protocol run as ``bench/attribution_mini.py`` runs it: default run folder, figures beside the tables."""
    # module scope runs before the function-scoped isolated home: point $SRPRINT_HOME there ourselves
    home = tmp_path_factory.getbasetemp() / "srprint_home"
    results = tmp_path_factory.mktemp("bench_results")
    torch.set_num_threads(2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SRPRINT_HOME", str(home))
        mp.setenv("SRPRINT_QUIET", "1")
        result = run_attribution_protocol(tiny_render, protocol=TINY, device="cpu",
                                          figures_dir=results / "attribution_mini")
    (state,) = (home / "bench" / "attribution_mini").glob("*/cnn/state.pt")
    return {"result": result, "results": results, "state": state, "mtime": state.stat().st_mtime_ns}


def test_protocol_result_and_markdown(bench_run: dict[str, Any], tiny_render: Path) -> None:
    result, results = bench_run["result"], bench_run["results"]
    assert set(result) == RESULT_KEYS
    assert result["name"] == "attribution_mini" and result["data"] == str(tiny_render.resolve())
    assert result["where"] == "source=trained" and result["holdout"] == HOLDOUT  # both apply to the tiny render
    assert result["config"]["classifier_config"]["backbone"] == "test_convnext"
    assert result["config"]["classifier_config"]["patience"] == 3  # unset: ClassifierConfig's default
    assert result["cnn_centre_crop"]["tiles"] == 1 and result["cnn"]["tiles"] == 2
    assert set(result["cnn"]["perturb"]) >= {"jpeg90"} and result["cnn"]["openset"]["unknown_models"]
    assert set(result["prnu_by_crop"]) == {24} and result["embed"] is None  # no imported model in the render
    assert set(result["targets"]) == {"cnn_overall>=0.97", "seed_groups>=0.99", "cnn>=prnu+0.30",
                                      "openset_auroc>=0.95", "jpeg90_drop<=0.05"}
    # figures: copied beside the tables, paths relative to the tables' folder
    assert {"confusion", "prnu_confusion"} <= set(result["figures"])
    for rel in result["figures"].values():
        assert rel.startswith("attribution_mini/") and (results / rel).is_file()
    json.dumps(result)  # the table's JSON

    md = attribution_markdown(result)
    assert md.startswith("# Attribution benchmark: attribution_mini\n\n**tiny render**\n")
    cnn, prnu = result["cnn"]["overall_acc"], result["prnu"]["overall_acc"]
    assert f"| overall | {100 * cnn:.1f} % | {100 * prnu:.1f} % |" in md
    assert "| seed groups |" in md  # EDSR s1 / s2 are a seed group
    assert "| PRNU at 24 px (overall) |" in md
    assert "| CNN | centre crop | 2 x 2 crops |" in md and "| open-set AUROC (msp) |" in md
    assert "Targets: cnn_overall>=0.97 " in md
    assert "[confusion](attribution_mini/confusion.png)" in md
    # a result read back from its JSON (prnu_by_crop keys become strings) gives the same table
    assert attribution_markdown(json.loads(json.dumps(result))) == md


def test_mini_stage_writes_the_table_and_reuses_the_bench_runs(bench_run: dict[str, Any], tiny_render: Path,
                                                              tmp_path: Path) -> None:
    ctx = StudyContext(out=tmp_path / "study", device="cpu", zoo_dir=tmp_path / "zoo",
                       results={"render": {"render": str(tiny_render)}})
    home = bench_run["state"].parents[4]

    def weights() -> dict[Path, int]:  # every classifier's weights under $SRPRINT_HOME and the study folder
        return {p: p.stat().st_mtime_ns for root in (home, tmp_path) for p in root.rglob("state.pt")}

    before = weights()
    summary = mini_stage(ctx, protocol=TINY)
    # the study shares the bench's run folder: no classifier is trained again, there or anywhere else
    assert weights() == before and before[bench_run["state"]] == bench_run["mtime"]
    jp, mp = ctx.tables_dir / "attribution_mini.json", ctx.tables_dir / "attribution_mini.md"
    assert summary["table"] == str(jp) and summary["markdown"] == str(mp)
    data = json.loads(jp.read_text())
    assert data["machine"]["torch"] == torch.__version__ and set(data) >= RESULT_KEYS
    assert summary["cnn_acc"] == data["summary"]["cnn_acc"] == bench_run["result"]["summary"]["cnn_acc"]
    assert summary["targets"] == data["targets"]
    json.dumps(summary)
    for rel in data["figures"].values():
        assert (ctx.tables_dir / rel).is_file()
    md = mp.read_text()
    assert md.startswith("# Attribution benchmark: attribution_mini\n\n_commit ") and "| overall |" in md


def test_published_stage_writes_its_own_table_or_is_skipped(tiny_render: Path, tmp_path: Path) -> None:
    ctx = StudyContext(out=tmp_path / "study", device="cpu", zoo_dir=tmp_path / "zoo",
                       results={"render": {"render": str(tiny_render)}})
    # the tiny render has no published checkpoint: skipped, not run on every row of the render
    skipped = published_stage(ctx)
    assert "source=imported" in skipped["skipped"] and not ctx.tables_dir.exists()
    summary = published_stage(ctx, protocol=TINY)  # a filter the render has: the protocol runs
    data = json.loads((ctx.tables_dir / "attribution_pretrained.json").read_text())
    assert data["name"] == "attribution_pretrained" and summary["cnn_acc"] == data["summary"]["cnn_acc"]
    assert not (ctx.tables_dir / "attribution_mini.json").exists()
    for rel in data["figures"].values():
        assert rel.startswith("attribution_pretrained/") and (ctx.tables_dir / rel).is_file()


def test_missing_render_is_one_line_error(tmp_path: Path, tiny_render: Path) -> None:
    ctx = StudyContext(out=tmp_path, device="cpu", zoo_dir=tmp_path, results={})
    with pytest.raises(SrprintError, match="run the render stage first"):
        mini_stage(ctx)
    with pytest.raises(SrprintError, match="run the render stage first"):
        backbones_stage(ctx)
    with pytest.raises(SrprintError, match="run the render stage first"):
        published_stage(ctx)
    with pytest.raises(DatasetError, match="no manifest.parquet"):
        run_attribution_protocol(tmp_path, figures_dir=tmp_path / "f")
    with pytest.raises(DatasetError, match="matches no image"):
        run_backbones_protocol(tiny_render, protocol=BackbonesProtocol(where="scale=8"), work=tmp_path)


def test_backbones_protocol_and_stage(tiny_render: Path, tmp_path: Path) -> None:
    torch.set_num_threads(2)
    proto = BackbonesProtocol(where="source=trained,scale=2", backbones=("test_convnext",), crop=32, head_epochs=0,
                              epochs=1, batch_size=4, max_per_class=8)
    partial: list[int] = []
    result = run_backbones_protocol(tiny_render, protocol=proto, device="cpu", work=tmp_path / "work",
                                    on_row=lambda r: partial.append(len(r["rows"])))
    assert partial == [1] and set(result) >= {"config", "rows", "per_backbone"}
    (row,) = result["rows"]
    assert row["backbone"] == "test_convnext" and 0 <= row["test_acc"] <= 1 and row["params_m"] > 0
    assert result["subset"]["models"] == 3  # the x2 models: EDSR s1, EDSR s2, RDN
    md = backbones_markdown(result)
    assert md.startswith("# Backbone comparison: attribution_backbones\n")
    assert f"| test_convnext | {row['params_m']:.1f} | {100 * row['test_acc']:.1f} % |" in md

    ctx = StudyContext(out=tmp_path / "study", device="cpu", zoo_dir=tmp_path / "zoo",
                       results={"render": {"render": str(tiny_render)}})
    summary = backbones_stage(ctx, protocol=proto)
    data = json.loads((ctx.tables_dir / "attribution_backbones.json").read_text())
    assert "machine" in data and [r["backbone"] for r in data["rows"]] == ["test_convnext"]
    assert summary["test_acc"] == {"test_convnext": data["rows"][0]["test_acc"]}
    assert "| test_convnext |" in (ctx.tables_dir / "attribution_backbones.md").read_text()
