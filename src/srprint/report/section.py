"""The report's unit: a :class:`Section` (at the bottom of the report package, so that the module that
collects a study and the modules that build sections from its tables both import it, and neither
imports the other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    """One part of the report: its title, whether its stage ran, and what it shows."""

    key: str
    title: str
    ran: bool
    command: str = ""  # the command that produces the stage, shown when it did not run
    tables: list[dict[str, Any]] = field(default_factory=list)  # {"caption", "columns", "rows"}
    figures: list[dict[str, Any]] = field(default_factory=list)  # {"caption", "path" or "png" bytes}
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value) lines
    notes: list[str] = field(default_factory=list)
