"""The v3 benchmark protocol (srprint.verification.protocol_v3) on a tiny mini zoo: reruns and summaries."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from srprint.verification import protocol_v3 as p3
from srprint.verification.protocol_v3_markdown import markdown_v3

from .conftest import make_sr_entry

OPTIONS = p3.ProtocolV3Options(negatives_per_source=0, finetune_sources=0, int8_after=False, legacy=False,
                               kinds=("copy-scored",))


def _rows(items: Path) -> list[dict]:
    return [json.loads(line) for line in items.read_text().splitlines()]


def test_a_rerun_keeps_an_items_v2_verdict_and_computes_a_missing_one(tmp_path: Path) -> None:
    mini = tmp_path / "mini"
    make_sr_entry(mini, "EDSR-bsds-x2-L1-s1", 1)
    make_sr_entry(mini, "EDSR-bsds-x2-L1-s2", 2)
    work = tmp_path / "work"
    keep, fill = "EDSR-bsds-x2-L1-s1|fp16", "EDSR-bsds-x2-L1-s1|prune10"
    opts = replace(OPTIONS, redo=(keep, fill), only_redo=True)
    p3.run_protocol_v3(work=work, published=tmp_path / "none", mini=mini, options=opts)
    items = work / "items.jsonl"
    assert {r["key"]: r["verdict_v2"] for r in _rows(items)} == {keep: "not run", fill: "not run"}
    # the population-free test is kept beside the null's p-value (a pruned copy reaches the lineage stage)
    pruned = {r["key"]: r for r in _rows(items)}[fill]
    assert "p_exact" in pruned and pruned["p_value"] is not None and pruned["p_exact"] is not None
    # the rows as an older method left them: one with a v2 verdict, one without
    # (v2 calls an fp16 copy *copy*: the kept verdict is one it would not give)
    old = {keep: {"method": "v3.0", "verdict_v2": "undecided"}, fill: {"method": "v3.0", "verdict_v2": "not run"}}
    items.write_text("".join(json.dumps({**r, **old[r["key"]]}) + "\n" for r in _rows(items)))
    p3.run_protocol_v3(work=work, published=tmp_path / "none", mini=mini, options=replace(opts, legacy=True))
    latest = {r["key"]: r for r in _rows(items)}
    assert all(r["method"] == p3.METHOD for r in latest.values())
    assert latest[keep]["verdict_v2"] == "undecided"  # kept, not recomputed
    assert latest[fill]["verdict_v2"] not in ("not run", None)  # computed: the item had none


def test_skipped_items_are_left_for_later(tmp_path: Path) -> None:
    mini = tmp_path / "mini"
    make_sr_entry(mini, "EDSR-bsds-x2-L1-s1", 1)
    make_sr_entry(mini, "EDSR-bsds-x2-L1-s2", 2)
    work = tmp_path / "work"
    opts = replace(OPTIONS, redo=("|fp16", "|prune10"), only_redo=True, skip=("prune",))
    p3.run_protocol_v3(work=work, published=tmp_path / "none", mini=mini, options=opts)
    assert [r["key"] for r in _rows(work / "items.jsonl")] == ["EDSR-bsds-x2-L1-s1|fp16"]


def test_the_summary_counts_the_current_methods_rows_on_their_own() -> None:
    def row(key: str, kind: str, edit: str, verdict: str, method: str) -> dict:
        return {"key": key, "source": "s", "kind": kind, "edit": edit, "status": "ok", "verdict": verdict,
                "verdict_v2": "copy", "method": method, "function": "same", "seconds_v3": 1.0}

    rows = [row("s|mix", "copy-scored", "mix", "copy", p3.METHOD),
            row("s|signflip", "copy-scored", "signflip", "undecided", "v3.3"),
            row("s|int8", "copy-scored", "int8", "copy", p3.METHOD),
            row("s|neg|a", "negative", "independent", "independent", p3.METHOD),
            row("s|neg|b", "negative", "independent", "shared parent", "v3.3")]
    s = p3.summarise_v3(rows)
    cur = s["current_method"]
    assert (s["exact"]["k"], s["exact"]["n"]) == (1, 2)
    assert (cur["exact"]["k"], cur["exact"]["n"]) == (1, 1) and (cur["changed"]["k"], cur["changed"]["n"]) == (1, 1)
    assert (cur["false_links"]["k"], cur["false_links"]["n"]) == (0, 1) and cur["negatives"] == 1
    assert s["negatives"]["false_links"]["k"] == 1  # all rows: the older one counts there
    assert f"Rows of the current method ({p3.METHOD}) alone" in markdown_v3({**s, "timing": None}, remaining=0)


def test_a_partial_rerun_is_summarised_apart_from_the_headline() -> None:
    def row(key: str, verdict: str, method: str) -> dict:
        return {"key": key, "source": "s", "kind": "copy-scored", "edit": key.split("|")[1], "status": "ok",
                "verdict": verdict, "verdict_v2": "copy", "method": method, "function": "same", "seconds_v3": 1.0}

    before = [row("s|int8", "undecided", "v3.5"), row("s|fp16", "copy", "v3.5")]
    rerun = [row("s|int8", "copy", p3.METHOD)]
    s = p3.summarise_v3(before, current_rows=rerun)
    assert (s["changed"]["k"], s["changed"]["n"]) == (1, 2)  # the headline keeps the row before the rerun
    cur = s["current_method"]
    assert cur["partial"] and (cur["changed"]["k"], cur["changed"]["n"]) == (1, 1)
    assert cur["by_edit"] == {"int8": {"copy": 1}}
    md = markdown_v3({**s, "timing": None}, remaining=0)
    assert f"## The {p3.METHOD} rerun so far (partial)" in md and "chosen, not sampled" in md
