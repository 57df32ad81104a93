"""``srprint study`` stage of verification v3 (issue 26): the benchmark's protocol on a study's zoos, shortened.

The stage runs :func:`~.protocol_v3.run_protocol_v3` with :data:`STUDY_OPTIONS`: every scored source's
exact edits and small changes, 8 independent models per source, no fine-tuning, no int8 pass, no v2
verdicts (the benchmark runs all of them: ``python bench/verification.py``). The items live where the
benchmark keeps them (``$SRPRINT_HOME/bench/verification_v3``), so a study and the benchmark never decide
the same item twice, and the table summarises every item decided there so far.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .protocol_v3 import ProtocolV3Options

STUDY_OPTIONS = ProtocolV3Options(negatives_per_source=8, finetune_sources=0, int8_after=False, legacy=False,
                                  max_seconds=float("inf"))


def mini_stage(ctx: Any, *, options: ProtocolV3Options | None = None) -> dict[str, Any]:
    """``srprint study --preset mini`` stage: the verification v3 table (``verification_v3``).

    Parameters
    ----------
    ctx : StudyContext
        The study's context (duck-typed): ``results["zoo"]`` names the mini zoo (``zoo``) and the
        imported published checkpoints (``pretrained_zoo``, None when absent); ``tables_dir`` is used.
    options : ProtocolV3Options, optional
        Which items to run (default :data:`STUDY_OPTIONS`).

    Returns
    -------
    dict
        A JSON-serialisable summary: the table's files, the headline rates and the items still to run.

    Raises
    ------
    SrprintError
        If neither zoo holds a source model.
    """
    from ..config import srprint_home
    from ..result_tables import write_table
    from .protocol_v3 import remaining_items, run_protocol_v3, select_sources, summarise_v3
    from .protocol_v3_markdown import markdown_v3

    options = options or STUDY_OPTIONS
    zoo_summary = ctx.results.get("zoo") or {}
    published = Path(zoo_summary["pretrained_zoo"]) if zoo_summary.get("pretrained_zoo") else None
    mini = Path(zoo_summary.get("zoo") or ctx.zoo_dir)
    rows = run_protocol_v3(work=srprint_home() / "bench" / "verification_v3", published=published, mini=mini,
                           options=options)
    remaining = remaining_items(*select_sources(published, mini), options, rows)
    summary = {**summarise_v3(rows), "timing": None}
    json_path, md_path = write_table(ctx.tables_dir, "verification_v3",
                                     {**summary, "remaining_items": remaining, "items": rows},
                                     markdown_v3(summary, remaining=remaining))
    neg = summary["negatives"]
    return {"table": str(json_path), "markdown": str(md_path), "remaining_items": remaining,
            "exact": {k: summary["exact"][k] for k in ("k", "n", "wilson95")},
            "changed": {k: summary["changed"][k] for k in ("k", "n", "wilson95")},
            "false_links": {k: neg["false_links"][k] for k in ("k", "n", "wilson95")},
            "undecided": {k: neg["undecided"][k] for k in ("k", "n", "wilson95")},
            "targets": {"exact_all_copy": summary["exact"]["k"] == summary["exact"]["n"],
                        "no_false_link": neg["false_links"]["k"] == 0}}
