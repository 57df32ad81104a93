"""Fingerprint registry: named fingerprints in an SQLite file under ``$SRPRINT_HOME``.

Concurrent-safe: WAL journal, a busy timeout, and every write in its own ``BEGIN IMMEDIATE``
transaction. ``check`` fingerprints a suspect once per distinct setting found in the registry and
compares it with every registered fingerprint made with that setting.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import srprint_home
from ..errors import SrprintError
from ..io.sqlite import immediate_transaction, sqlite_connection
from .fingerprint import Fingerprint, FingerprintError, FingerprintSettings
from .verify import Verdict, verify_fingerprints

SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    name TEXT PRIMARY KEY,
    model_id TEXT,
    model_sha256 TEXT,
    settings_key TEXT NOT NULL,
    settings TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    added TEXT NOT NULL
)
"""


def default_registry_path() -> Path:
    return srprint_home() / "fingerprints.sqlite"


@dataclass
class RegistryRow:
    name: str
    model_id: str
    model_sha256: str
    settings: dict[str, Any]
    added: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model_id": self.model_id, "model_sha256": self.model_sha256,
                "settings": self.settings, "added": self.added}


class Registry:
    """The SQLite fingerprint registry (``path`` defaults to ``$SRPRINT_HOME/fingerprints.sqlite``)."""

    def __init__(self, path: str | Path | None = None, timeout_s: float = 30.0) -> None:
        self.path = Path(path) if path else default_registry_path()
        self.timeout_s = timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute(SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_connection(
            self.path, timeout_s=self.timeout_s, wal=True,
            on_open=lambda exc: SrprintError(f"cannot open fingerprint registry {self.path}: {exc}"),
            on_error=lambda exc: SrprintError(f"fingerprint registry {self.path}: {exc}"))

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con, immediate_transaction(con):
            yield con

    def add(self, name: str, fp: Fingerprint, replace: bool = False) -> None:
        """Register ``fp`` under ``name`` (refuses an existing name unless ``replace``).

        Raises
        ------
        SrprintError
            On: "registry name must not be empty"; or "registry already has a fingerprint named … (use
            --replace)".
        """
        if not name.strip():
            raise SrprintError("registry name must not be empty")
        with self._write() as con:
            exists = con.execute("SELECT 1 FROM fingerprints WHERE name = ?", (name,)).fetchone()
            if exists and not replace:
                raise SrprintError(f"registry already has a fingerprint named {name!r} (use --replace)")
            con.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (name, fp.model.get("id", ""), fp.model.get("sha256", ""), fp.settings.key(),
                         json.dumps(fp.settings.to_dict()), json.dumps(fp.to_dict()),
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))

    def remove(self, name: str) -> None:
        with self._write() as con:
            cur = con.execute("DELETE FROM fingerprints WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise SrprintError(f"no fingerprint named {name!r} in the registry {self.path}")

    def list(self) -> list[RegistryRow]:
        with self._connect() as con:
            rows = con.execute("SELECT name, model_id, model_sha256, settings, added FROM fingerprints "
                               "ORDER BY name").fetchall()
        return [RegistryRow(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def get(self, name: str) -> Fingerprint:
        with self._connect() as con:
            row = con.execute("SELECT fingerprint FROM fingerprints WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise SrprintError(f"no fingerprint named {name!r} in the registry {self.path}")
        try:
            return Fingerprint.from_dict(json.loads(row[0]), f"registry entry {name!r}")
        except json.JSONDecodeError as exc:
            raise FingerprintError(f"registry entry {name!r} is corrupt ({exc})") from exc

    def fingerprints(self) -> list[tuple[str, Fingerprint]]:
        return [(r.name, self.get(r.name)) for r in self.list()]

    def check(self, suspect: Callable[[FingerprintSettings], Fingerprint] | Fingerprint) -> list[tuple[str, Verdict]]:
        """Compare a suspect with every registered fingerprint.

        ``suspect`` is a fingerprint (compared only with entries made with its settings) or a
        function ``settings -> Fingerprint`` (called once per distinct setting in the registry).
        Registered fingerprints of a task the suspect cannot do are skipped. Results are sorted by
        ``d / eta`` (closest first).
        """
        cache: dict[str, Fingerprint | None] = {}
        out = []
        for name, fp in self.fingerprints():
            if isinstance(suspect, Fingerprint):
                if suspect.settings.differences(fp.settings):
                    continue
                sfp = suspect
            else:
                key = fp.settings.key()
                if key not in cache:
                    try:
                        cache[key] = suspect(fp.settings)
                    except SrprintError as exc:  # e.g. a denoiser suspect vs an SR fingerprint: not comparable
                        if "does not fit task" not in str(exc):
                            raise
                        cache[key] = None
                sfp = cache[key]
                if sfp is None:
                    continue
            out.append((name, verify_fingerprints(fp, sfp)))
        return sorted(out, key=lambda t: t[1].ratio)
