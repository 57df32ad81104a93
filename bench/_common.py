"""Shared helpers for benchmark scripts: machine/commit metadata and result writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import srprint.result_tables  # noqa: F401 - imported first, so the load "at start" is taken when the bench starts

RESULTS = Path(__file__).resolve().parent / "results"


def find_mini_render() -> Path | None:
    """Newest ``$SRPRINT_HOME/renders/mini-*`` render (by ``manifest.parquet`` mtime); None if there is none."""
    from srprint.config import srprint_home

    cands = [p for p in (srprint_home() / "renders").glob("mini-*") if (p / "manifest.parquet").is_file()]
    return max(cands, key=lambda p: (p / "manifest.parquet").stat().st_mtime) if cands else None


def write_results(name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """Write ``bench/results/<name>.json`` and ``.md`` through the same writer as ``srprint study``."""
    from srprint.result_tables import write_table

    return write_table(RESULTS, name, data, markdown)
