"""The verification benchmark protocol as a library stage (srprint.verification.protocol) on tiny zoos."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from srprint.errors import SrprintError
from srprint.verification import protocol as vp

from .conftest import make_denoiser_entry, make_sr_entry

# two cheap attacks, no fine-tuning, a small null: seconds, not the bench's hours
TINY = vp.VerificationOptions(finetune_sources=0, threads=1, timing_pairs=1, attacks=("prune5", "fp16"), n_random=4)
# the keys of bench/results/verification.json (bar the machine record write_table adds)
KEYS = {"sources", "failed_sources", "populations", "alpha", "copy_max_distance", "copy_band_calibrated",
        "copy_band_inputs", "copies", "copies_total", "copies_verified", "copy_errors", "independent",
        "independent_total", "false_copy", "false_match_rate", "false_match_ci95", "shared_parent", "timing",
        "seconds", "copy_rows", "independent_rows", "shared_rows"}


@pytest.fixture()
def zoos(tmp_path: Path) -> dict[str, Path]:
    mini, published = tmp_path / "mini", tmp_path / "pretrained_zoo"
    make_sr_entry(mini, "EDSR-tiny-x2-s1", 1)
    make_sr_entry(mini, "EDSR-tiny-x2-s2", 2)
    make_denoiser_entry(mini)
    make_sr_entry(published, "EDSR-pub-a-x2", 11)
    make_sr_entry(published, "EDSR-pub-b-x2", 12)
    return {"mini": mini, "published": published}


def test_protocol_scores_copies_and_independent_pairs(zoos: dict[str, Path], tmp_path: Path) -> None:
    res = vp.run_verification_protocol(zoos=zoos, attacked=tmp_path / "attacked", options=TINY)
    assert set(res) == KEYS
    assert res["sources"] == 5 and res["populations"] == {"mini": 3, "published": 2}
    assert res["copies_total"] == 5 * 2 and not res["copy_errors"]
    assert {r["attack"] for r in res["copy_rows"]} == {"prune5", "fp16"}
    assert res["copies_verified"] == res["copies_total"], res["copies"]
    # 4 SR models: 6 same-task pairs, none of them related; the denoiser pairs with nobody
    assert res["independent_total"] == 6 and res["false_copy"] == 0 and not res["shared_rows"]
    assert len(res["timing"]) == 1 and res["timing"][0]["source"] == "EDSR-pub-a-x2"
    assert (tmp_path / "attacked" / "EDSR-tiny-x2-s1" / "prune5.0" / "model.json").is_file()
    md = vp.verification_markdown(res)
    assert md.startswith("# Ownership verification by parameter lineage")
    assert "| 100 % of copies verified | 10/10 " in md
    assert "| prune5 | 5 | 5 |" in md and "| fp16 | 5 | 5 |" in md
    json.dumps(res)  # the record is written as JSON as it is


def test_a_sequence_of_zoos_names_populations_after_their_folders(zoos: dict[str, Path], tmp_path: Path) -> None:
    options = vp.VerificationOptions(finetune_sources=0, threads=1, timing_pairs=0, attacks=(), n_random=3)
    res = vp.run_verification_protocol(zoos=[zoos["published"]], attacked=tmp_path / "a", options=options)
    assert res["populations"] == {"published": 2}
    assert res["copies_total"] == 0 and res["timing"] == []


def test_mini_stage_writes_the_table(zoos: dict[str, Path], tmp_path: Path, _srprint_home: Path) -> None:
    out = tmp_path / "study"
    ctx: Any = SimpleNamespace(out=out, device="cpu", zoo_dir=tmp_path / "unused", tables_dir=out / "tables",
                               results={"zoo": {"zoo": str(zoos["mini"]), "pretrained_zoo": None}})
    summary = vp.mini_stage(ctx, options=TINY)
    data = json.loads((out / "tables" / "verification.json").read_text())
    assert data["machine"]["torch"] and set(data) == KEYS | {"machine"}
    assert data["populations"] == {"mini": 3}
    md = (out / "tables" / "verification.md").read_text()
    assert md.startswith("# Ownership verification") and "_commit " in md and "| target | result |" in md
    assert summary["table"] == str(out / "tables" / "verification.json")
    assert summary["copies_verified"] == summary["copies_total"] == 6
    assert summary["targets"]["all_copies_verified"] is True and summary["targets"]["no_false_copy"] is True
    json.dumps(summary)
    # the attacked copies go where the bench keeps them, so study and bench share the work
    assert (_srprint_home / "bench" / "lineage-attacked" / "EDSR-tiny-x2-s2" / "fp16.0" / "model.json").is_file()


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SrprintError, match="unknown attack"):
        vp.VerificationOptions(attacks=("prune7",))
    with pytest.raises(SrprintError, match="bad verification options"):
        vp.VerificationOptions(threads=0)
    with pytest.raises(SrprintError, match="zoo folder not found"):
        vp.run_verification_protocol(zoos={"mini": tmp_path / "missing"}, options=TINY)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SrprintError, match="no SR model or denoiser"):
        vp.run_verification_protocol(zoos={"mini": tmp_path / "empty"}, options=TINY)


def test_clopper_pearson_bounds() -> None:
    assert vp.clopper_pearson(0, 0) == (0.0, 1.0)
    lo, hi = vp.clopper_pearson(1, 100)
    assert 0.0 < lo < 0.01 < hi < 0.06


def test_published_entries_linked_into_the_trained_zoo_are_sources_of_the_published_population_only(
        tmp_path: Path) -> None:
    make_sr_entry(tmp_path / "mini", "trained-a", 1)
    linked = make_sr_entry(tmp_path / "mini", "rlfn-pretrained", 2)
    make_sr_entry(tmp_path / "pre", "rlfn-pretrained", 2)
    for folder in (tmp_path / "mini" / "rlfn-pretrained", tmp_path / "pre" / "rlfn-pretrained"):
        linked.labels = {**linked.labels, "source": "imported"}
        linked.save(folder)
    sources = vp.load_sources({"mini": tmp_path / "mini", vp.PUBLISHED: tmp_path / "pre"})
    assert sorted((pop, e.id) for pop, e in sources) == [("mini", "trained-a"), (vp.PUBLISHED, "rlfn-pretrained")]


def test_v3_stage_runs_the_shortened_protocol_and_writes_its_table(tmp_path: Path, _srprint_home: Path) -> None:
    from srprint.verification import protocol_v3, protocol_v3_stage

    mini = tmp_path / "mini"
    make_sr_entry(mini, "EDSR-bsds-x2-L1-s1", 1)  # the scored source ({ARCH}-bsds-x2-L1-s1)
    make_sr_entry(mini, "EDSR-bsds-x2-L1-s2", 2)  # a seed sibling: a negative
    make_sr_entry(mini, "EDSR-div2k-x2-L1-s3", 3)
    out = tmp_path / "study"
    ctx: Any = SimpleNamespace(out=out, zoo_dir=mini, tables_dir=out / "tables",
                               results={"zoo": {"zoo": str(mini), "pretrained_zoo": None}})
    options = replace(protocol_v3_stage.STUDY_OPTIONS, negatives_per_source=2)
    jobs = list(protocol_v3._jobs(*protocol_v3.select_sources(None, mini), options))
    # exact edits and small changes of the one source, its 2 negatives; no int8 pass, no fine-tuning
    assert len(jobs) == len(protocol_v3.EXACT_EDITS) + len(protocol_v3.SMALL_CHANGES) + 2
    assert not any("finetune" in j[0] or j[0].endswith("+int8") for j in jobs)
    summary = protocol_v3_stage.mini_stage(ctx, options=options)
    assert summary["remaining_items"] == 0
    assert summary["exact"]["k"] == summary["exact"]["n"] == len(protocol_v3.EXACT_EDITS)
    assert summary["false_links"]["k"] == 0 and summary["targets"]["no_false_link"] is True
    data = json.loads((out / "tables" / "verification_v3.json").read_text())
    assert data["machine"]["torch"] and len(data["items"]) == len(jobs)
    assert {r["verdict_v2"] for r in data["items"]} == {"not run"}
    md = (out / "tables" / "verification_v3.md").read_text()
    assert md.startswith("# Ownership verification v3") and "Items still to run: 0" in md
    # the items are the benchmark's: a second run decides nothing again
    items = _srprint_home / "bench" / "verification_v3" / "items.jsonl"
    lines = items.read_text().count("\n")
    assert protocol_v3_stage.mini_stage(ctx, options=options)["remaining_items"] == 0
    assert items.read_text().count("\n") == lines == len(jobs)
