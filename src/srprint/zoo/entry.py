"""``ZooEntry``: the typed record of one model in a zoo (trained or imported), and the zoo folder.

A zoo is a folder with one sub-folder per model id holding ``model.safetensors`` and
``model.json`` (this record). Training leaves ``train_state.pt`` (resumable checkpoint) until the
model is complete.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import srprint_home
from ..errors import CheckpointError, SpecError, SrprintError
from ..io.atomic import atomic_write_json
from ..io.names import check_name, is_valid_name
from .specs import ModelSpec

RECORD_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
RECORD_FILE = "model.json"


@dataclass
class ZooEntry:
    """One zoo model. ``spec`` is set for trained models, ``imported`` for third-party ones."""

    id: str
    source: str  # "trained" | "imported"
    arch: str
    scale: int
    task: str = "sr"  # "sr" | "denoise" | ...
    arch_config: dict[str, Any] = field(default_factory=dict)
    loader: str = "registry"  # how to rebuild the module: "registry" (srprint archs/ports) | "spandrel"
    input_range: tuple[float, float] = (0.0, 1.0)
    grey: bool = False  # model works on the Y channel only
    residual: bool = False  # model predicts the residual (noise), output = input - net(input)
    spec: dict[str, Any] | None = None
    imported: dict[str, Any] | None = None
    labels: dict[str, Any] = field(default_factory=dict)  # every hyperparameter label (arch, loss, ...)
    status: str = "complete"
    iterations: int = 0
    train: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    record_version: int = RECORD_VERSION
    path: Path | None = field(default=None, compare=False)

    @property
    def model_spec(self) -> ModelSpec | None:
        return ModelSpec.from_dict(self.spec) if self.spec else None

    @property
    def weights_path(self) -> Path:
        if self.path is None:
            raise SrprintError(f"zoo entry {self.id} has no folder")
        return self.path / WEIGHTS_FILE

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("path")
        d["input_range"] = list(self.input_range)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> ZooEntry:
        names = {f.name for f in dataclasses.fields(cls)} - {"path"}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "input_range" in kwargs:
            kwargs["input_range"] = tuple(kwargs["input_range"])
        return cls(**kwargs, path=path)

    def save(self, folder: Path | None = None) -> None:
        folder = folder or self.path
        if folder is None:
            raise SrprintError("no folder to save the zoo entry to")
        self.path = Path(folder)
        atomic_write_json(self.path / RECORD_FILE, self.to_dict())

    @classmethod
    def load(cls, folder: str | Path) -> ZooEntry:
        """Read an entry folder's record; a record is untrusted input and is checked field by field.

        Raises
        ------
        CheckpointError
            If ``model.json`` is missing, corrupt, too large, or holds implausible values.
        """
        folder = Path(folder)
        rec = folder / RECORD_FILE
        if not rec.is_file():
            raise CheckpointError(f"no {RECORD_FILE} in {folder}")
        if rec.stat().st_size > MAX_RECORD_BYTES:
            raise CheckpointError(f"{rec}: record of {rec.stat().st_size} bytes is too large to be a zoo record")
        try:
            data = json.loads(rec.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{rec}: corrupt record ({getattr(exc, 'msg', exc)})") from exc
        if not isinstance(data, dict) or "id" not in data:
            raise CheckpointError(f"{rec}: not a zoo record")
        check_record_fields(data, rec)
        try:
            return cls.from_dict(data, path=folder)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{rec}: malformed record ({exc})") from exc


MAX_RECORD_BYTES = 1 << 20
MAX_CONFIG_INT = 1 << 16  # no layer of an SR network has more channels, blocks or pixels than this


MAX_INPUT_RANGE = 1e4  # input ranges in use: [0, 1], [0, 255], [-1, 1]


def check_record_fields(data: dict[str, Any], rec: Path | str) -> None:
    """Refuse a record whose values would make srprint write outside a folder, build an absurd
    network, or silently misread one (the one check of every field read from ``model.json``).

    Parameters
    ----------
    data : dict
        The parsed record.
    rec : Path or str
        Where it was read from, named in the message.

    Raises
    ------
    CheckpointError
        If the id is not a safe name (:func:`srprint.io.names.check_name`: it becomes a folder name
        when rendering), the scale is outside 1-16 or is not 1 for a restoration task, ``input_range``
        is not two finite increasing numbers, ``grey``/``residual`` are not booleans, a text field is
        not text, or ``arch_config`` holds an implausible value.
    """
    try:
        check_name(data.get("id"), what="model id")
    except SpecError as exc:
        raise CheckpointError(f"{rec}: {exc}") from None
    for key in ("arch", "task", "loader", "source"):
        if key in data and (not isinstance(data[key], str) or not data[key]):
            raise CheckpointError(f"{rec}: {key!r} must be a non-empty string, not {data[key]!r}")
    scale = data.get("scale")
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 16:
        raise CheckpointError(f"{rec}: implausible scale {scale!r} (1-16)")
    task = data.get("task", "sr")
    if task != "sr" and scale != 1:
        raise CheckpointError(f"{rec}: a {task} model restores at its input size, but the record says x{scale}")
    for key in ("grey", "residual"):
        if key in data and not isinstance(data[key], bool):
            raise CheckpointError(f"{rec}: {key!r} must be true or false, not {data[key]!r}")
    if "input_range" in data:
        rng = data["input_range"]
        ok = (isinstance(rng, list | tuple) and len(rng) == 2
              and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                      and abs(v) <= MAX_INPUT_RANGE for v in rng))
        if not ok:
            raise CheckpointError(f"{rec}: 'input_range' must be two finite numbers [low, high], not {rng!r}")
        if not rng[0] < rng[1]:
            raise CheckpointError(f"{rec}: empty 'input_range' {list(rng)} (low must be below high)")
    for key in ("labels", "train", "metrics", "timings", "versions"):
        if key in data and not isinstance(data[key], dict):
            raise CheckpointError(f"{rec}: {key!r} must be an object")
    for key in ("spec", "imported"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise CheckpointError(f"{rec}: {key!r} must be an object")
    config = data.get("arch_config", {})
    if not isinstance(config, dict):
        raise CheckpointError(f"{rec}: 'arch_config' must be an object")
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, bool) or v is None or isinstance(v, str):
                continue
            if not isinstance(v, int | float) or abs(v) > MAX_CONFIG_INT:
                raise CheckpointError(f"{rec}: implausible arch_config {key}={value!r}")


def write_entry_folder(final: Path, entry: ZooEntry, write_weights: Callable[[Path], None]) -> ZooEntry:
    """Write an entry into a temporary sibling folder and rename it onto ``final`` (atomic).

    ``write_weights(path)`` writes ``model.safetensors``; the record is written last, so a folder
    without ``model.json`` is never an entry. A previous ``final`` (the caller has decided it may be
    replaced) is moved aside first and deleted after the rename; a failure leaves it untouched.

    Raises
    ------
    OSError
        If the parent folder cannot be written.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_killed_writes(final)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = final.parent / f".{final.name}.tmp-{tag}"
    trash: Path | None = None
    tmp.mkdir()
    try:
        write_weights(tmp / WEIGHTS_FILE)
        entry.save(tmp)
        if final.exists():
            trash = final.parent / f".{final.name}.old-{tag}"
            final.rename(trash)
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if trash is not None and trash.exists():
            if final.exists():
                shutil.rmtree(trash, ignore_errors=True)
            else:  # the rename failed: put the previous folder back
                trash.rename(final)
    entry.path = final
    return entry


def recover_killed_writes(final: Path) -> None:
    """Clean up after a writer of ``final`` that was killed: drop its temporary folder, and put
    back a previous entry it had moved aside but not yet replaced."""
    for p in final.parent.glob(f".{final.name}.*-*-*"):
        kind, _, rest = p.name[len(final.name) + 2:].partition("-")
        pid = rest.split("-")[0]
        if kind not in ("tmp", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        if kind == "old" and not final.exists():
            p.rename(final)
        else:
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def labels_for_spec(spec: ModelSpec) -> dict[str, Any]:
    return {"arch": spec.arch, "dataset": spec.dataset, "scale": spec.scale, "loss": spec.loss, "seed": spec.seed,
            "size": spec.size, "source": "trained"}


def library_versions() -> dict[str, str]:
    """The versions a record carries: :func:`srprint.result_tables.library_versions`."""
    from ..result_tables import library_versions as versions

    return versions()


def default_zoo_dir(name: str) -> Path:
    """Default location of a named zoo under ``$SRPRINT_HOME/zoos``."""
    return srprint_home() / "zoos" / name


class Zoo:
    """A zoo folder: look up, list and add entries."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def entry_dir(self, model_id: str) -> Path:
        """The folder of ``model_id`` (checked to be a safe name: it never leaves the zoo).

        Raises
        ------
        SpecError
            If ``model_id`` is not a safe name (:func:`srprint.io.names.check_name`).
        """
        return self.root / check_name(model_id, what="model id")

    def has(self, model_id: str) -> bool:
        """Whether ``model_id`` is a complete entry: a record and a non-empty weights file."""
        if not is_valid_name(model_id):
            return False
        d = self.root / model_id
        return (d / RECORD_FILE).is_file() and _weights_ok(d / WEIGHTS_FILE)

    def get(self, model_id: str) -> ZooEntry:
        if not self.root.is_dir():
            raise SrprintError(f"zoo folder not found: {self.root}")
        if not self.has(model_id):
            known = ", ".join(self.ids()[:8])
            raise SrprintError(f"model {model_id!r} not in zoo {self.root} (has: {known or 'nothing'})")
        return ZooEntry.load(self.entry_dir(model_id))

    def ids(self) -> list[str]:
        """The folder names of the complete entries (hidden and temporary folders are never entries)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.has(p.name))

    def entries(self, strict: bool = False) -> list[ZooEntry]:
        """All complete entries. Corrupt records are skipped (or raised with ``strict``).

        An entry whose weights file is empty (a copy cut short) is skipped with a warning, never
        listed as complete.

        Raises
        ------
        SrprintError
            If the zoo folder is missing, or two entries' records claim the same id (both named).
        """
        if not self.root.is_dir():
            raise SrprintError(f"zoo folder not found: {self.root}")
        for d in sorted(self.root.iterdir()):
            w = d / WEIGHTS_FILE
            if is_valid_name(d.name) and (d / RECORD_FILE).is_file() and w.is_file() and not _weights_ok(w):
                warnings.warn(f"skipped an incomplete zoo entry: {w} is empty or cut short "
                              f"({w.stat().st_size} bytes)", stacklevel=2)
        out = []
        for mid in self.ids():
            try:
                e = ZooEntry.load(self.entry_dir(mid))
            except CheckpointError as exc:
                if strict:
                    raise
                warnings.warn(f"skipped a corrupt zoo entry: {exc}", stacklevel=2)
                continue
            if e.status == "complete":
                out.append(e)
        check_unique_ids(out, where=f"zoo {self.root}")
        return out


def check_unique_ids(entries: list[ZooEntry], *, where: str) -> None:
    """Refuse two entries that claim one id: their outputs (a render class, a fingerprint) would merge.

    Raises
    ------
    SrprintError
        Naming the id and the folders of the first duplicate.
    """
    seen: dict[str, ZooEntry] = {}
    for e in entries:
        if e.id in seen:
            raise SrprintError(f"{where}: two entries claim the model id {e.id!r} ({seen[e.id].path} and {e.path}); "
                               "fix the 'id' in one model.json")
        seen[e.id] = e


MIN_WEIGHTS_BYTES = 8  # a safetensors file starts with its 8-byte header length


def _weights_ok(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size >= MIN_WEIGHTS_BYTES
    except OSError:
        return False
