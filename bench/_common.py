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


def jpeg_round_trip(img8: Any, qualities: tuple[int, ...]) -> tuple[Any, Any]:
    """``img8`` (uint8 RGB) compressed by Pillow at each quality in turn (a JPEG of a JPEG for two):
    the last file's :class:`~srprint.attribution.jpeg_file.JpegInfo` and its decoded pixels in ``[0, 1]``."""
    import io

    import numpy as np
    from PIL import Image

    from srprint.attribution.jpeg_file import read_jpeg

    data, cur = b"", img8
    for q in qualities:
        buf = io.BytesIO()
        Image.fromarray(cur).save(buf, format="JPEG", quality=q)
        data = buf.getvalue()
        cur = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return read_jpeg(data), cur.astype(np.float32) / 255
