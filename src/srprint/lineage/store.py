"""The lineage index folder: SQLite records beside one usearch vector file per ``(task, scale)`` group.

Layout of ``DIR``:

* ``records.sqlite``: one row per model (id, sha256, arch, task, scale, entry folder, declared parent,
  licence, source URL, weight statistics, the sketch itself) and a ``meta`` table holding the format,
  the sketch version and, per group, the *generation* of its vector file and its model count;
* ``vectors/<group>.g<generation>.usearch``: the group's usearch index (cosine, searched exactly: chosen
  by ``bench/lineage_index_choice.py``), keyed by the record's integer key, memory-mapped on open;
* ``.lock``: the writers' lock.

Writes are crash-safe without a journal of their own: a writer (holding an exclusive ``flock`` on
``.lock``, so two processes adding at once queue instead of losing rows) writes each changed group's
vectors to a *new* generation file, then commits the rows and the new generations in one SQLite
transaction; only after the commit are the old files deleted. A writer killed at any point leaves the
previous generation in force (at worst an orphan file the next writer removes). An index whose current
vector file is missing, unreadable or disagrees with its records (a copy cut short, a disk error) is
refused in one line, and :meth:`LineageIndex.repair` rebuilds every vector file from the sketches kept
in the records.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SrprintError
from ..io.sqlite import immediate_transaction, sqlite_connection
from .sketch import SKETCH_DIM, SKETCH_VERSION

FORMAT = "srprint-lineage-1"
RECORDS = "records.sqlite"
SAME_FUNCTION_DISTANCE = 1e-9  # 1 - cosine of two sketches: float rounding of one function (measured ~1e-14)
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS models (
        key INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, sha256 TEXT NOT NULL,
        arch TEXT, task TEXT NOT NULL, scale INTEGER NOT NULL, grp TEXT NOT NULL, path TEXT,
        declared_parent TEXT, licence TEXT, source_url TEXT, stats TEXT NOT NULL, sketch BLOB NOT NULL,
        added TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # one file can hold several scales (CARN-M): identical weights are one model per group
    "CREATE UNIQUE INDEX IF NOT EXISTS models_sha ON models (sha256, grp)",
)
_COLUMNS = ("key", "model_id", "sha256", "arch", "task", "scale", "grp", "path", "declared_parent", "licence",
            "source_url", "stats", "sketch", "added")


class IndexCorruptError(SrprintError):
    """The index folder is corrupt or half-written (``srprint lineage index --repair`` rebuilds it)."""


@dataclass
class Record:
    """One indexed model."""

    model_id: str
    sha256: str
    arch: str
    task: str
    scale: int
    group: str
    sketch: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    declared_parent: str | None = None
    licence: str | None = None
    source_url: str | None = None
    key: int | None = None
    added: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "id": self.model_id, "sha256": self.sha256, "arch": self.arch, "task": self.task,
                "scale": self.scale, "path": self.path, "declared_parent": self.declared_parent,
                "licence": self.licence, "source_url": self.source_url, "stats": self.stats, "added": self.added}


def _row_record(row: tuple[Any, ...]) -> Record:
    d = dict(zip(_COLUMNS, row, strict=True))
    sketch = np.frombuffer(d["sketch"], dtype=np.float64)
    return Record(d["model_id"], d["sha256"], d["arch"] or "", d["task"], int(d["scale"]), d["grp"], sketch,
                  json.loads(d["stats"]), d["path"], d["declared_parent"], d["licence"], d["source_url"],
                  int(d["key"]), d["added"])


@dataclass
class AddResult:
    """What :meth:`LineageIndex.add` did with one record: ``added`` or ``duplicate`` (of ``of``, and why)."""

    model_id: str
    status: str
    of: str | None = None
    reason: str = ""
    key: int | None = None


def _same(a: Record, b: Record) -> bool:
    return bool(np.linalg.norm(b.sketch) > 0) and 1.0 - float(np.dot(a.sketch, b.sketch)) <= SAME_FUNCTION_DISTANCE


def _forget(con: sqlite3.Connection, key: int) -> None:
    """Delete a removed model's stored relations, link mark and parent edges (``lineage/graph.py``'s tables)."""
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'relations'").fetchone():
        con.execute("DELETE FROM relations WHERE a = ? OR b = ?", (key, key))
        con.execute("DELETE FROM linked WHERE key = ?", (key,))
        con.execute("DELETE FROM parents WHERE child = ? OR parent = ?", (key, key))


def _usearch_index(path: Path | None = None, *, view: bool = False) -> Any:
    from usearch.index import Index

    if path is None:
        return Index(ndim=SKETCH_DIM, metric="cos", dtype="f32")
    idx = Index.restore(str(path), view=view)
    if idx is None:
        raise ValueError("not a usearch index")
    return idx


class LineageIndex:
    """The index folder ``root`` (see the module docstring). ``create`` makes a missing folder.

    Raises
    ------
    SrprintError
        ``root`` is missing (and not ``create``) or not an index folder.
    """

    def __init__(self, root: str | Path, *, create: bool = False, timeout_s: float = 60.0) -> None:
        self.root = Path(root)
        self.timeout_s = timeout_s
        db = self.root / RECORDS
        if not db.is_file():
            if not create:
                raise SrprintError(f"{self.root} is not a lineage index (no {RECORDS}); build one with "
                                   f"`srprint lineage index ZOO --index {self.root}`")
            if self.root.exists() and not self.root.is_dir():
                raise SrprintError(f"--index {self.root} exists and is not a folder")
            if self.root.is_dir() and any(p.name not in (".lock", "vectors") for p in self.root.iterdir()):
                raise SrprintError(f"--index {self.root} is a non-empty folder that is not a lineage index; "
                                   f"choose another folder")
            (self.root / "vectors").mkdir(parents=True, exist_ok=True)
            with self._locked(), self._connect() as con:
                con.execute("PRAGMA journal_mode = WAL")  # persistent: set once, when the file is made
            with self._locked(), self._write() as con:
                for stmt in SCHEMA:
                    con.execute(stmt)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
                con.execute("INSERT OR IGNORE INTO meta VALUES ('sketch_version', ?)", (str(SKETCH_VERSION),))
        self._check_meta()

    # ---- low level -------------------------------------------------------------------------------
    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_connection(
            self.root / RECORDS, timeout_s=self.timeout_s,
            on_open=lambda exc: IndexCorruptError(self._corrupt(f"cannot open {RECORDS} ({exc})")),
            on_error=lambda exc: IndexCorruptError(self._corrupt(f"{RECORDS}: {exc}")))

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con, immediate_transaction(con):
            yield con

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive writer lock (released by the kernel if the writer dies)."""
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _corrupt(self, what: str) -> str:
        return (f"lineage index {self.root} is corrupt or half-written ({what}); rebuild it with "
                f"`srprint lineage index --repair --index {self.root}`")

    def _check_meta(self) -> None:
        meta = self.meta()
        if meta.get("format") != FORMAT:
            raise IndexCorruptError(self._corrupt(f"format {meta.get('format')!r}, expected {FORMAT!r}"))
        if meta.get("sketch_version") != str(SKETCH_VERSION):
            raise SrprintError(f"lineage index {self.root} holds sketches of version {meta.get('sketch_version')}, "
                               f"this srprint makes version {SKETCH_VERSION}: build a new index")

    def meta(self) -> dict[str, str]:
        with self._connect() as con:
            try:
                return dict(con.execute("SELECT name, value FROM meta").fetchall())
            except sqlite3.OperationalError as exc:
                raise IndexCorruptError(self._corrupt(f"{RECORDS} has no meta table ({exc})")) from exc

    def _vector_file(self, group: str, gen: int) -> Path:
        return self.root / "vectors" / f"{group}.g{gen}.usearch"

    # ---- reading ---------------------------------------------------------------------------------
    def records(self, group: str | None = None) -> list[Record]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM models" + (" WHERE grp = ?" if group else "") + " ORDER BY key"
        with self._connect() as con:
            rows = con.execute(sql, (group,) if group else ()).fetchall()
        try:
            return [_row_record(r) for r in rows]
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(self._corrupt(f"a record cannot be read ({exc})")) from exc

    def groups(self) -> dict[str, int]:
        with self._connect() as con:
            return dict(con.execute("SELECT grp, COUNT(*) FROM models GROUP BY grp ORDER BY grp").fetchall())

    def find(self, *, sha256: str | None = None, model_id: str | None = None,
             group: str | None = None) -> Record | None:
        """The first record with this weights hash (in ``group``) or this model id; None if there is none."""
        col, val = ("sha256", sha256) if sha256 else ("model_id", model_id)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM models WHERE {col} = ?" + (" AND grp = ?" if group else "")
        with self._connect() as con:
            row = con.execute(sql + " ORDER BY key LIMIT 1", (val, group) if group else (val,)).fetchone()
        return _row_record(row) if row else None

    def vectors(self, group: str) -> Any | None:
        """The group's usearch index (memory-mapped), checked against its records; None for an empty group.

        Raises
        ------
        IndexCorruptError
            The current vector file is missing, unreadable or holds another number of models.
        """
        with self._connect() as con:
            gen = (con.execute("SELECT value FROM meta WHERE name = ?", (f"gen:{group}",)).fetchone() or [None])[0]
            count = con.execute("SELECT COUNT(*) FROM models WHERE grp = ?", (group,)).fetchone()[0]
        if count == 0:
            return None
        path = self._vector_file(group, int(gen)) if gen and gen.isdigit() else None
        if path is None or not path.is_file():
            raise IndexCorruptError(self._corrupt(f"the vector file of {group} is missing"))
        try:
            idx = _usearch_index(path, view=True)
            n = len(idx)
        except Exception as exc:  # noqa: BLE001 - usearch reports damage in several ways
            raise IndexCorruptError(self._corrupt(f"{path.name} cannot be read ({exc})")) from exc
        if n != count or idx.ndim != SKETCH_DIM:
            raise IndexCorruptError(self._corrupt(f"{path.name} holds {n} vectors, the records {count}"))
        return idx

    def check(self) -> dict[str, int]:
        """Open every group's vectors (see :meth:`vectors`); returns the group sizes."""
        groups = self.groups()
        for g in groups:
            self.vectors(g)
        return groups

    def nearest(self, group: str, sketch: np.ndarray, k: int) -> list[tuple[Record, float]]:
        """The ``k`` records of ``group`` whose sketches are closest to ``sketch``: ``(record, 1 - cosine)``.

        The approximate search gives the keys; each distance is then recomputed exactly from the stored
        sketch in float64 (usearch's float32 cannot tell a re-upload from an exact re-parameterisation).
        """
        idx = self.vectors(group)
        if idx is None or k <= 0:
            return []
        m = idx.search(np.asarray(sketch, dtype=np.float32), min(k, len(idx)), exact=True)
        keys = [int(x) for x in np.atleast_1d(m.keys)]
        with self._connect() as con:
            rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM models WHERE key IN "
                               f"({', '.join('?' * len(keys))})", keys).fetchall()
        out = [(r, 1.0 - float(np.dot(r.sketch, sketch))) for r in map(_row_record, rows)]
        return sorted(out, key=lambda t: t[1])

    # ---- writing ---------------------------------------------------------------------------------
    def _commit_vectors(self, con: sqlite3.Connection, group: str, *, add: list[tuple[int, np.ndarray]],
                        remove: list[int], rebuild: bool = False) -> Path | None:
        """Write the group's next-generation vector file (not yet current: the caller's commit makes it so)."""
        meta = dict(con.execute("SELECT name, value FROM meta").fetchall())
        gen = int(meta.get(f"gen:{group}", "0"))
        old = self._vector_file(group, gen)
        if rebuild or not old.is_file():
            idx = _usearch_index()
            rows = con.execute("SELECT key, sketch FROM models WHERE grp = ?", (group,)).fetchall()
            if rows:
                idx.add(np.array([r[0] for r in rows]),
                        np.stack([np.frombuffer(r[1], dtype=np.float64) for r in rows]).astype(np.float32))
        else:
            idx = _usearch_index(old)
            for key in remove:
                idx.remove(key)
            if add:
                idx.add(np.array([k for k, _ in add]), np.stack([v for _, v in add]).astype(np.float32))
        new = self._vector_file(group, gen + 1)
        tmp = new.with_suffix(f".tmp-{os.getpid()}")
        idx.save(str(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, new)
        count = con.execute("SELECT COUNT(*) FROM models WHERE grp = ?", (group,)).fetchone()[0]
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"gen:{group}", str(gen + 1)))
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"count:{group}", str(count)))
        return new

    def _sweep(self) -> None:
        """Delete vector files that are not a group's current generation (left by a finished or killed writer)."""
        meta = self.meta()
        current = {self._vector_file(k[4:], int(v)).name for k, v in meta.items() if k.startswith("gen:")}
        for p in (self.root / "vectors").iterdir():
            if p.name not in current:
                with contextlib.suppress(OSError):
                    p.unlink()

    def _twins(self, recs: list[Record], idx: Any) -> list[Record | None]:
        """For each record, an indexed or earlier record of the batch with the same function (sketches equal
        to float rounding, :data:`SAME_FUNCTION_DISTANCE`), or None. One batched approximate search on the
        committed vectors and one on the batch itself: a twin is a near-identical vector, which the graph
        finds, and a bulk add stays linear."""
        out: list[Record | None] = [None] * len(recs)
        if not recs:
            return out
        mat = np.stack([np.asarray(r.sketch, dtype=np.float32) for r in recs])
        k = 3
        if idx is not None and len(idx):
            keys = np.atleast_2d(idx.search(mat, min(k, len(idx))).keys)
            wanted = sorted({int(x) for x in keys.ravel() if int(x) >= 0})
            known: dict[int, Record] = {}
            with self._connect() as con:
                for i in range(0, len(wanted), 500):
                    chunk = wanted[i:i + 500]
                    for row in con.execute(f"SELECT {', '.join(_COLUMNS)} FROM models WHERE key IN "
                                           f"({', '.join('?' * len(chunk))})", chunk).fetchall():
                        rec = _row_record(row)
                        known[int(rec.key or 0)] = rec
            for i, r in enumerate(recs):
                out[i] = next((known[int(j)] for j in keys[i] if int(j) in known and _same(known[int(j)], r)), None)
        batch = _usearch_index()
        batch.add(np.arange(len(recs)), mat)
        keys = np.atleast_2d(batch.search(mat, min(k + 1, len(recs))).keys)
        for i, r in enumerate(recs):
            if out[i] is None:
                j = next((int(j) for j in keys[i] if 0 <= int(j) < i and _same(recs[int(j)], r)), None)
                if j is not None:
                    out[i] = out[j] or recs[j]
        return out

    def _known_hashes(self, hashes: set[str]) -> dict[tuple[str, str], Record]:
        """Indexed records whose weights hash is in ``hashes``, by ``(sha256, group)`` (first added wins)."""
        out: dict[tuple[str, str], Record] = {}
        todo = sorted(hashes)
        with self._connect() as con:
            for i in range(0, len(todo), 500):
                chunk = todo[i:i + 500]
                rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM models WHERE sha256 IN "
                                   f"({', '.join('?' * len(chunk))}) ORDER BY key", chunk).fetchall()
                for row in rows:
                    rec = _row_record(row)
                    out.setdefault((rec.sha256, rec.group), rec)
        return out

    def add(self, records: list[Record]) -> list[AddResult]:
        """Add ``records`` in one transaction; a model already indexed (same sha256, or the same function:
        sketches equal to float rounding) is reported as a duplicate and not added.

        Raises
        ------
        IndexCorruptError
            The index is corrupt (nothing is added).
        """
        results: list[AddResult] = []
        with self._locked():
            vectors = {g: self.vectors(g) for g in self.check()}
            pending: list[Record] = []
            known = self._known_hashes({r.sha256 for r in records})
            fresh: list[Record] = []
            for rec in records:  # same weights first: a file indexed before, or twice in this batch
                same = known.get((rec.sha256, rec.group))
                if same is not None:
                    results.append(AddResult(rec.model_id, "duplicate", same.model_id, "same file (sha256)", same.key))
                    continue
                known[(rec.sha256, rec.group)] = rec
                fresh.append(rec)
                results.append(AddResult(rec.model_id, "added"))
            twin_of: dict[int, Record | None] = {}
            for group in {r.group for r in fresh}:
                members = [r for r in fresh if r.group == group]
                twin_of.update(zip(map(id, members), self._twins(members, vectors.get(group)), strict=True))
            it = iter(fresh)
            for res in results:
                if res.status != "added":
                    continue
                rec = next(it)
                twin = twin_of.get(id(rec))
                if twin is not None and twin is not rec:
                    res.status, res.of, res.key = "duplicate", twin.model_id, twin.key
                    res.reason = "same function (identical outputs on the probes)"
                else:
                    pending.append(rec)
            if pending:
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                with self._write() as con:
                    by_group: dict[str, list[tuple[int, np.ndarray]]] = {}
                    for rec in pending:
                        cur = con.execute(
                            "INSERT INTO models (model_id, sha256, arch, task, scale, grp, path, declared_parent, "
                            "licence, source_url, stats, sketch, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (rec.model_id, rec.sha256, rec.arch, rec.task, rec.scale, rec.group, rec.path,
                             rec.declared_parent, rec.licence, rec.source_url, json.dumps(rec.stats),
                             np.asarray(rec.sketch, dtype=np.float64).tobytes(), now))
                        rec.key = int(cur.lastrowid)
                        by_group.setdefault(rec.group, []).append((rec.key, rec.sketch))
                    for group, vecs in by_group.items():
                        self._commit_vectors(con, group, add=vecs, remove=[])
                it2 = iter(pending)
                for res in results:
                    if res.status == "added":
                        res.key = next(it2).key
            self._sweep()
        return results

    def remove(self, model_id: str) -> Record:
        """Remove the model ``model_id`` (its record and its vector).

        Raises
        ------
        SrprintError
            No model of that id is indexed.
        """
        with self._locked():
            rec = self.find(model_id=model_id)
            if rec is None:
                raise SrprintError(f"no model {model_id!r} in the lineage index {self.root}")
            self.vectors(rec.group)
            with self._write() as con:
                con.execute("DELETE FROM models WHERE key = ?", (rec.key,))
                _forget(con, int(rec.key or 0))
                self._commit_vectors(con, rec.group, add=[], remove=[int(rec.key or 0)])
            self._sweep()
        return rec

    def repair(self) -> dict[str, int]:
        """Rebuild every group's vector file from the sketches in the records; returns the group sizes.

        Raises
        ------
        IndexCorruptError
            The records themselves cannot be read (nothing to rebuild from).
        """
        with self._locked():
            self.records()  # every record must read back
            with self._write() as con:
                groups = [g for (g,) in con.execute("SELECT DISTINCT grp FROM models").fetchall()]
                for k, in con.execute("SELECT name FROM meta WHERE name LIKE 'gen:%'").fetchall():
                    if k[4:] not in groups:
                        con.execute("DELETE FROM meta WHERE name = ?", (k,))
                for g in groups:
                    self._commit_vectors(con, g, add=[], remove=[], rebuild=True)
            self._sweep()
            return self.check()
