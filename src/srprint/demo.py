"""``srprint demo``: the end-to-end job on scikit-image's bundled photographs.

It is the ``demo`` preset of :mod:`srprint.study`: every stage in order, each finished stage
recorded so that a rerun skips it, ending with the study's HTML report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_demo(out: Path | None = None, device: str = "auto") -> dict[str, Any]:
    """Run every demo stage not finished before; returns the merged summary (and the report path)."""
    from .study.run import run_study

    return run_study("demo", out=out, device=device)
