"""The report of a folder of result tables (the mini study's ``tables/``, or ``bench/results`` itself).

The tables are copies of the committed benchmark results (their shapes are what the mini study
writes); broken copies check that a malformed table or figure is reported, never a crash.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from srprint.cli import app
from srprint.report.claims import claims_rows, table_claims_data
from srprint.report.collect import SUMMARY_FILE
from srprint.report.html import write_report
from srprint.report.table_figures import perturb_points, verdict_matrix
from srprint.report.tables import find_tables_folder, read_tables

from .test_report import SECTIONS, _sections_and_images, _tiny_study

BENCH = Path(__file__).resolve().parents[2] / "bench" / "results"
REAL = ("zoo_quality", "attribution_mini", "attribution_pretrained", "attribution_backbones", "parsing_mini_table",
        "parsing_mini_fen", "parsing_mini_imported", "trace", "verification_v3")
# the committed results are the fixtures: the expected values are read from them, so a regenerated table
# changes no test
ATT = json.loads((BENCH / "attribution_mini.json").read_text())
TRACE = json.loads((BENCH / "trace.json").read_text())
PUBLISHED = json.loads((BENCH / "attribution_pretrained.json").read_text())
HAS_ROC = any(isinstance(v, dict) and "roc" in v for v in ATT["cnn"].get("openset", {}).values())


def _verification() -> dict:
    """A small verification table of the real one's shape: copies by attack, independent and shared pairs."""
    def pair(verdict: str, pops: str, s: float) -> dict:
        return {"source": "A", "suspect": "B", "populations": pops, "similarity": s, "coverage": 1.0,
                "p_value": 0.5, "verdict": verdict}

    copies = [{"source": f"M{i}", "population": "mini", "attack": attack, "similarity": 0.999, "coverage": 1.0,
               "p_value": 1e-40, "verdict": verdict, "psnr_change": -0.01 * i, "seconds": 0.3}
              for i, (attack, verdict) in enumerate([("prune5", "copy"), ("prune5", "copy"), ("int8", "copy"),
                                                      ("int8", "shared parent")])]
    copies.append({"source": "M9", "population": "mini", "attack": "permute+rescale", "error": "cannot trace"})
    return {"machine": {"git_commit": "abc1234", "date": "2026-12-01", "cpu": "AMD EPYC", "cpu_count": 2,
                        "torch": "2.x", "torch_threads": 1, "load_average_at_start": [1.0, 1, 1]},
            "sources": 4, "populations": {"mini": 4}, "alpha": 0.001, "copy_max_distance": 0.05,
            "copies": {"copy": 3, "shared parent": 1}, "copies_total": 4, "copies_verified": 3,
            "independent": {"independent": 2, "undecided": 1}, "independent_total": 3, "false_copy": 0,
            "false_match_rate": 0.01, "false_match_ci95": [0.001, 0.05], "seconds": 12.0, "copy_rows": copies,
            "independent_rows": [pair("independent", "mini/mini", 0.1), pair("independent", "mini/mini", 0.2),
                                 pair("undecided", "mini/published", 0.4)],
            "shared_rows": [pair("shared parent", "mini/mini", 0.99)]}


def _lineage() -> dict:
    """A small lineage table of the bench's shape: one headline rate and a two-edge tree."""
    nodes = [{"id": i, "group": "sr-x4"} for i in ("root", "ft1", "ft2", "other")]
    edges = [{"parent": "root", "child": "ft1", "relation": "derived", "directed": True, "confidence": 0.999,
              "distance": 0.2, "direction_evidence": ["worse on the held-out photo"]},
             {"parent": "ft1", "child": "ft2", "relation": "shares a parent", "directed": False, "confidence": 0.99}]
    return {"headline": [{"measure": "re-uploads", "k": 5, "n": 6, "ci95": [0.44, 0.97], "target": "100 %",
                          "met": False}], "tree": {"nodes": nodes, "edges": edges, "alpha": 0.05}}


def tables_study(root: Path) -> Path:
    """A mini-study-like folder under ``root``: ``tables/`` with copies of the committed results and figures."""
    root.mkdir(parents=True, exist_ok=True)
    tables = root / "tables"
    tables.mkdir()
    for name in REAL:
        shutil.copy(BENCH / f"{name}.json", tables / f"{name}.json")
    shutil.copytree(BENCH / "attribution_mini", tables / "attribution_mini")
    (tables / "verification.json").write_text(json.dumps(_verification()))
    (tables / "lineage.json").write_text(json.dumps(_lineage()))
    return root


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tables_study(tmp_path_factory.mktemp("mini_study"))


@pytest.fixture(scope="module")
def page(study: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_report(study, tmp_path_factory.mktemp("out") / "report.html").read_text()


def _section(html: str, key: str) -> str:
    return html.split(f'<section id="{key}">')[1].split("</section>")[0]


def test_every_section_is_filled_from_the_tables_and_every_image_decodes(page: str) -> None:
    sections, images = _sections_and_images(page)
    assert sections == set(SECTIONS)
    for key in SECTIONS:
        assert "Not run" not in _section(page, key), key
    # zoo quality bar chart, the 4 figures attribution_mini lists, robustness, open set (and its ROC
    # curve when the table stores ROC points), verdict heat map, lineage graph
    assert len(images) == 9 + HAS_ROC
    for src in images:
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        img.load()
        assert img.size[0] > 100 and img.size[1] > 100
    assert not re.search(r'(src|href)="(https?:)?//', page), "the page fetches something from the network"
    assert "http://" not in page and "https://" not in page


@pytest.mark.parametrize(("key", "needles"), [
    ("population", ["zoo quality: 10 models", "PSNR gain over bicubic", "8 of 10 models beat bicubic"]),
    ("attribution", ["CNN vs PRNU on the test split", "accuracy by arch", "seed groups: models that differ",
                     "accuracy on perturbed test images", "jpeg90", "resize0.5", "open set: images of models",
                     "imported (published) models, never trained on", "classifier backbones", "convnext_atto",
                     "robustness: accuracy against JPEG quality", "open set: AUROC of each score",
                     "CNN: confusion matrix", "PRNU: confusion matrix", "t-SNE",
                     "published checkpoints (trained by others", f"{100 * PUBLISHED['cnn']['overall_acc']:.1f} %",
                     "published checkpoints: accuracy per model", *PUBLISHED["cnn"]["openset"]["unknown_models"]]),
    ("trace", [f"tracing {TRACE['images']} images", "each traced image", "made by"]),
    ("parsing", ["held-out parsers", "study (Table 5) %", "94-99", "FEN+PN against the no-fingerprint",
                 "randomgt", "the study&#39;s Figure 6", "predicted arch", "zoo + other families"]),
    ("verification", ["copies by attack", "permute+rescale", "PSNR change range", "verdict heat map",
                      "false-match rate", "verdicts on pairs of different models", "mini/published",
                      "verification v3 (function first", "exact edits (outputs unchanged) called copy",
                      "beside the previous method", "signflip+identity", "v3 copy band", "v3 rows of v3."]),
    ("provenance", ["result tables of", "abc1234", str(ATT["machine"]["git_commit"]), "torch threads"]),
])
def test_each_section_shows_its_tables_and_figures(page: str, key: str, needles: list[str]) -> None:
    sec = _section(page, key)
    for needle in needles:
        assert needle in sec, (key, needle)


def test_claims_use_the_tables(page: str) -> None:
    claims = _section(page, "claims")
    assert "not tested" not in claims  # every claim has its table
    assert "3 of 4 copies verified" in claims and "0 of 3 independent pairs called a copy" in claims
    assert f"CNN {100 * ATT['cnn']['overall_acc']:.1f} % vs PRNU {100 * ATT['prnu']['overall_acc']:.1f} %" in claims


def test_the_cli_reads_a_folder_that_holds_the_tables_itself(study: Path, tmp_path: Path) -> None:
    folder = study / "tables"  # what `srprint report bench/results` gets
    assert find_tables_folder(folder) == folder and find_tables_folder(study) == folder
    out = tmp_path / "bench.html"
    res = CliRunner().invoke(app, ["report", str(folder), "-o", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "srprint result tables:" in html
    sections, images = _sections_and_images(html)
    assert sections == set(SECTIONS) and len(images) == 9 + HAS_ROC
    assert html.count('class="notrun"') == 0


def test_a_demo_study_has_no_tables_folder(tmp_path: Path) -> None:
    study = _tiny_study(tmp_path)
    assert find_tables_folder(study) is None
    html = write_report(study, tmp_path / "r.html").read_text()
    parsing = _section(html, "parsing")
    assert "Not run" in parsing and "srprint study --preset mini" in parsing and "bench/parsing_mini.py" in parsing


def test_broken_tables_and_figures_are_reported_not_crashed(tmp_path: Path) -> None:
    tables = tmp_path / "study" / "tables"
    tables.mkdir(parents=True)
    att = json.loads((BENCH / "attribution_mini.json").read_text())
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "outside.png")
    (tables / "attribution_mini").mkdir()
    (tables / "attribution_mini" / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    att["figures"] = {"confusion": "../../outside.png", "tsne": str(tmp_path / "outside.png"),
                      "prnu_confusion": "attribution_mini/fake.png", "embed": 42}
    att["cnn"]["perturb"] = {"jpeg90": "broken", "blur3": {"acc": 0.5}}
    (tables / "attribution_mini.json").write_text(json.dumps(att))
    (tables / "attribution_backbones.json").write_text('{"rows": [{"backbone": "x", "test_acc": "high"}], ')
    (tables / "verification.json").write_text("[1, 2, 3]")
    (tables / "verification_v3.json").write_text(json.dumps({"exact": "all", "by_edit": {"mix": [1]}}))
    (tables / "trace.json").write_text(json.dumps({"rows": "none", "images": {"a": 1}, "jpeg": [1]}))
    (tables / "parsing_mini_table.json").write_text(json.dumps({"heldout_table": {"cells": [
        {"target": "scale", "accuracy": "high", "chance": None, "n_test": "many"}, 7]}}))
    (tables / "parsing_mini_fen.json").write_text(json.dumps({"fen_cv": {"fen": [1, 2]},
                                                              "fen_better_than_baselines": 3}))
    (tables / "zoo_quality.json").write_text(json.dumps({"rows": [{"id": "M", "Set5": "x"}, "junk"]}))
    html = write_report(tmp_path / "study", tmp_path / "r.html").read_text()
    sections, images = _sections_and_images(html)
    assert sections == set(SECTIONS)
    # robustness (the centre-crop evaluation's perturbations are intact) and open set; the listed
    # figures are outside the folder, not a PNG, or not a path
    assert len(images) == 2 + HAS_ROC
    assert "figure confusion (../../outside.png) missing or not a PNG" in html
    assert "figure prnu_confusion" in html and "figure embed" in html
    assert "attribution_backbones: malformed JSON" in html
    ver = _section(html, "verification")
    assert "Not run" in ver and "not a JSON object" in ver and "python bench/verification.py --v2" in ver
    assert "verification_v3" in ver  # its note: the shapes it could not use, no half-built table
    prov = _section(html, "provenance")
    assert "unusable: malformed JSON" in prov and "unusable: not a JSON object (a list)" in prov
    assert "parsing_mini_imported: not run" in _section(html, "parsing")
    assert "Not run" in _section(html, "trace") and "trace: holds none of the entries" in html
    assert "0 of 1 models beat bicubic" in _section(html, "population")
    claims = _section(html, "claims")
    assert claims.count("not tested") >= 4  # no verification, trace or parsing numbers to test


def test_a_table_figure_is_only_read_inside_the_folder(study: Path, tmp_path: Path) -> None:
    tables = read_tables(study / "tables")
    assert tables.figure("attribution_mini", "attribution_mini/confusion.png") is not None
    assert tables.figure("attribution_mini", "results/attribution_mini/tsne.png") is not None  # bench/ relative
    outside = tmp_path / "x.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(outside)
    assert tables.figure("attribution_mini", str(outside)) is None
    assert tables.figure("attribution_mini", "../" * 12 + str(outside).lstrip("/")) is None
    assert tables.figure("attribution_mini", None) is None


def test_perturb_points_read_jpeg_and_resize_settings() -> None:
    ev = {"perturb": {"jpeg75": {"acc": 0.5}, "jpeg95": {"acc": 0.9}, "resize0.5": {"acc": 0.1},
                      "blur": {"acc": 0.3}, "jpeg90": {"acc": None}}}
    assert perturb_points(ev) == {"jpeg": [(75.0, 0.5), (95.0, 0.9)], "resize": [(0.5, 0.1)]}
    assert perturb_points({"perturb": "x"}) == {}


def test_verdict_matrix_counts_copies_by_attack_and_pairs_by_kind() -> None:
    names, cols, counts = verdict_matrix(_verification())
    assert names[:3] == ["copy: prune5", "copy: int8", "copy: permute+rescale"]
    assert cols == ["copy", "shared parent", "independent", "undecided", "not applied"]
    row = dict(zip(names, counts.tolist(), strict=True))
    assert row["copy: int8"] == [1, 1, 0, 0, 0] and row["copy: permute+rescale"] == [0, 0, 0, 0, 1]
    assert row["independent pair: mini/mini"] == [0, 0, 2, 0, 0]
    assert row["shared parent pair: mini/mini"] == [0, 1, 0, 0, 0]


def _claim_verdicts(tables: dict) -> list[str]:
    return [r[-1] for r in claims_rows(table_claims_data(tables))]


def test_claims_from_tables_follow_the_fixed_rules() -> None:
    ev = {"n": 100, "overall_acc": 0.9, "chance": 0.1,
          "seed_groups": {"groups": [{"n": 30, "acc": 0.9, "chance": 0.5}]}}
    tables = {
        "attribution_mini": {"cnn": ev, "prnu": {"n": 100, "overall_acc": 0.5, "chance": 0.1}},
        "verification": _verification(),
        "trace": {"rows": [{"model": "a", "predicted": "a", "verdict": "made by"},  # 150 of 150: lower bound 97.5 %
                           {"model": "b", "predicted": "b", "verdict": "made by"}] * 75},
        "parsing_mini_table": {"heldout_table": {"cells": [
            {"target": "scale", "holdout": "arch=X", "accuracy": 1.0, "chance": 0.5, "n_test": 100},
            {"target": "arch", "holdout": "seed=3", "accuracy": 0.25, "chance": 0.2, "n_test": 40}]}},
        "parsing_mini_fen": {"fen_better_than_baselines": {"1/nofp": {"l1": True}, "1/randomgt": {"l1": True}}},
    }
    # attribution, seeds, CNN > PRNU reproduced; one copy called shared parent refutes "every copy";
    # no independent pair called a copy; traces right; 25 % of 40 at chance 20 % is not shown; FEN wins all
    assert _claim_verdicts(tables) == ["reproduced", "reproduced", "reproduced", "refuted", "reproduced",
                                       "reproduced", "not shown", "reproduced"]
    tables["parsing_mini_table"]["heldout_table"]["cells"][1]["accuracy"] = 0.1
    tables["parsing_mini_fen"]["fen_better_than_baselines"]["1/nofp"] = {"l1": False}
    assert _claim_verdicts(tables)[-2:] == ["refuted", "refuted"]
    assert _claim_verdicts({}) == ["not tested"] * 8
    assert _claim_verdicts({"attribution_mini": {"cnn": {"n": "x"}}, "trace": {"rows": "x"}}) == ["not tested"] * 8


def test_a_mini_study_shows_the_crops_of_the_render_its_summary_names(tiny_render: Path, tmp_path: Path) -> None:
    study = tmp_path / "mini"
    (study / "tables").mkdir(parents=True)
    shutil.copy(BENCH / "zoo_quality.json", study / "tables" / "zoo_quality.json")
    (study / SUMMARY_FILE).write_text(json.dumps({"render": {"render": str(tiny_render), "seconds": 3.0}}))
    html = write_report(study, tmp_path / "r.html").read_text()
    population = _section(html, "population")
    assert "the same test crop rendered by each model" in population and "zoo quality: 10 models" in population
    assert "wall time per stage" in _section(html, "provenance")


def test_the_population_figure_spreads_a_large_population(tiny_render: Path) -> None:
    from srprint.report.figures import population_figure

    few, all_models = population_figure(tiny_render, max_models=3), population_figure(tiny_render)
    assert few is not None and all_models is not None
    assert Image.open(io.BytesIO(few)).size[0] < Image.open(io.BytesIO(all_models)).size[0]


def test_roc_curves_are_drawn_from_stored_points_and_absent_points_draw_nothing() -> None:
    from PIL import Image

    from srprint.report.table_figures import roc_figure

    with_points = {"openset": {"msp": {"auroc": 0.9, "roc": {"fpr": [0, 0.1, 1], "tpr": [0, 0.8, 1]}},
                               "n_known": 5}}
    png = roc_figure([("CNN", with_points)])
    assert png is not None and Image.open(io.BytesIO(png)).size[0] > 100
    assert roc_figure([("CNN", {"openset": {"msp": {"auroc": 0.9}}})]) is None
    assert roc_figure([("CNN", {"openset": {"msp": {"roc": {"fpr": [0, 1], "tpr": [0]}}}})]) is None  # bad shape
