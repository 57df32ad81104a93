"""The study report: every section present, every image decodes, nothing fetched, missing stages marked."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from srprint.cli import app
from srprint.errors import SrprintError
from srprint.report.collect import LEGACY_SUMMARY_FILE, SUMMARY_FILE
from srprint.report.figures import log_spectrum, population_figure
from srprint.report.html import write_report

SECTIONS = ("population", "attribution", "trace", "parsing", "verification", "lineage", "claims", "provenance")


def _png(path: Path) -> None:
    Image.fromarray((np.random.default_rng(0).random((12, 16, 3)) * 255).astype(np.uint8)).save(path)


def _tiny_study(root: Path) -> Path:
    zoo, study = root / "zoo", root / "study"
    for i, gain in enumerate((0.8, -0.3)):
        (zoo / f"M{i}").mkdir(parents=True)
        (zoo / f"M{i}" / "model.json").write_text(json.dumps({
            "id": f"M{i}", "arch": "EDSR", "labels": {"scale": 2, "loss": "L1", "dataset": "skimage", "seed": i},
            "metrics": {"psnr": 30 + gain, "bicubic_psnr": 30.0, "psnr_gain": gain, "ssim": 0.9,
                        "bicubic_ssim": 0.88}}))
    cnn = study / "attribution" / "cnn"
    cnn.mkdir(parents=True)
    (cnn / "eval_test.json").write_text(json.dumps({
        "method": "cnn:test", "n": 40, "n_classes": 2, "chance": 0.5, "overall_acc": 0.75, "split": "test",
        "per_class": [{"class": "M0", "n": 2, "acc": 1.0}, {"class": "M1", "n": 2, "acc": 0.5}],
        "grouped": {"seed": [{"value": "0", "n": 2, "acc": 1.0}]},
        "seed_groups": {"mean_acc": 0.75, "groups": [{"group": "EDSR", "models": ["M0", "M1"], "n": 4,
                                                        "acc": 0.75, "chance": 0.5}]}}))
    _png(cnn / "confusion_test.png")
    (study / SUMMARY_FILE).write_text(json.dumps({
        "zoo": {"zoo": str(zoo), "seconds": 1.0},
        "verification": {"method": "lineage", "seconds": 2.0, "prune_psnr_change": -0.01, "verdicts": [
            {"source": "M0", "suspect": "M0+prune", "verdict": "copy", "expected": "copy", "similarity": 0.99,
             "coverage": 1.0, "p_value": 1e-6}]}}))
    return study


def _sections_and_images(html: str) -> tuple[set[str], list[str]]:
    return set(re.findall(r'<section id="([^"]+)"', html)), re.findall(r'<img src="([^"]+)"', html)


def test_report_of_a_tiny_study_has_every_section_and_only_embedded_images(tmp_path: Path) -> None:
    out = write_report(_tiny_study(tmp_path), tmp_path / "r" / "report.html")
    html = out.read_text()
    sections, images = _sections_and_images(html)
    assert sections == set(SECTIONS)
    assert images, "the confusion matrix is not shown"
    for src in images:
        assert src.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page fetches something from the network"
    assert "M0+prune" in html and "75.0 %" in html
    assert "1 of 2 pixel-loss models do not beat bicubic: M1" in html  # the population table says which
    claims = html.split('<section id="claims">')[1].split("</section>")[0]
    # attribution (30/40 at chance 1/2) and the copy verdict reproduce; 3/4 in the seed group is above
    # chance but too few images to show it; no PRNU, independent pair, trace or parsing stage ran
    counts = [claims.count(v) for v in ("reproduced", "refuted", "not shown", "not tested")]
    assert counts == [2, 0, 1, 5]
    trace = html.split('<section id="trace">')[1].split("</section>")[0]
    assert "Not run" in trace and "srprint trace" in trace


def test_report_of_an_empty_folder_marks_every_stage_not_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / SUMMARY_FILE).write_text("{half-written")
    html = write_report(tmp_path / "empty", tmp_path / "report.html").read_text()
    sections, images = _sections_and_images(html)
    assert sections == set(SECTIONS) and not images
    assert html.count("Not run") == len(SECTIONS) - 2  # claims and provenance are always there
    assert html.count("not tested") == 8  # no stage ran: no claim is tested


def test_missing_study_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SrprintError, match="study folder not found"):
        write_report(tmp_path / "nope", tmp_path / "r.html")


def test_population_figure_shows_the_rendered_crops(tiny_render: Path) -> None:
    png = population_figure(tiny_render)
    assert png is not None
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size[0] > img.size[1]
    assert population_figure(tiny_render.parent / "not-a-render") is None


def test_log_spectrum_peaks_at_the_frequency_of_a_stripe_pattern() -> None:
    x = np.tile(np.sin(np.arange(32) * 2 * np.pi / 4), (32, 1))
    spec = log_spectrum(x)
    row, col = np.unravel_index(np.argmax(spec), spec.shape)
    assert row == 16 and abs(col - 16) == 8


def test_cli_refuses_to_overwrite_and_reports_the_path(tmp_path: Path) -> None:
    study = _tiny_study(tmp_path)
    out = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["report", str(study), "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["report"] == str(out) and out.is_file()
    again = CliRunner().invoke(app, ["report", str(study), "-o", str(out)])
    assert again.exit_code != 0
    assert CliRunner().invoke(app, ["report", str(study), "-o", str(out), "--force"]).exit_code == 0


def test_a_killed_study_reports_the_stages_it_finished(tmp_path: Path) -> None:
    study = _tiny_study(tmp_path)
    summary = json.loads((study / SUMMARY_FILE).read_text())
    (study / SUMMARY_FILE).unlink()  # written only when a study ends
    (study / "stages").mkdir()
    for name, data in summary.items():
        (study / "stages" / f"{name}.json").write_text(json.dumps(data))
    (study / "stages" / "trace.json").write_text('{"tra')  # cut short by the kill
    html = write_report(study, tmp_path / "k.html").read_text()
    assert "M0+prune" in html  # the verification stage's verdicts
    assert "2 models of" in html  # the zoo named by the zoo stage's summary


def test_a_study_folder_from_before_the_summary_was_renamed_still_reports(tmp_path: Path) -> None:
    study = _tiny_study(tmp_path)
    (study / SUMMARY_FILE).rename(study / LEGACY_SUMMARY_FILE)
    html = write_report(study, tmp_path / "old.html").read_text()
    assert "M0+prune" in html and "2 models of" in html


def test_adversarial_models_below_bicubic_are_told_apart_from_pixel_loss_ones(tmp_path: Path) -> None:
    from srprint.report.collect import population_section

    zoo = tmp_path / "zoo"
    for name, loss in (("A", "L1"), ("G", "VGG+Adv")):
        (zoo / name).mkdir(parents=True)
        (zoo / name / "model.json").write_text(json.dumps({
            "id": name, "labels": {"loss": loss}, "metrics": {"psnr_gain": -0.5, "eval_set": "set5"}}))
    sec = population_section(zoo)
    assert sec.notes[0] == "1 of 2 pixel-loss models do not beat bicubic: A"
    assert sec.notes[1].startswith("1 adversarially trained models score below bicubic")
    assert sec.notes[1].endswith(": G")
    assert "set5" in sec.tables[0]["caption"]
