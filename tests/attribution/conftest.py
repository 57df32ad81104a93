"""The attribution tests use the session fixtures ``tiny_render`` / ``tiny_run`` of ``tests/conftest.py``."""

from __future__ import annotations

from ..tiny_render import HOLDOUT, KNOWN, TINY_CFG, UNKNOWN, make_tiny_render

__all__ = ["HOLDOUT", "KNOWN", "TINY_CFG", "UNKNOWN", "make_tiny_render"]
