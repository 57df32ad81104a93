"""Building the lineage index: resolve what the user named, sketch each model through the executor, add.

An argument of ``srprint lineage index`` is a zoo folder (every entry in it), one entry folder, or a
checkpoint file, which is imported first (:func:`srprint.zoo.imports.import_file`) into the index's own
zoo, ``DIR/models``, so the index can load it again to confirm a match. Sketching (the model's forward
pass on the probes) is the expensive part and fans out through :mod:`srprint.execution` (a local
process pool, or Ray for a corpus that does not fit one machine); the records are then added in one
locked transaction (:meth:`srprint.lineage.store.LineageIndex.add`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SrprintError
from .sketch import group_key, heldout_stats, model_sketch, weight_stats
from .store import AddResult, LineageIndex, Record

MODELS_DIR = "models"


def content_sha256(state: dict[str, Any]) -> str:
    """sha256 of a state dict's names, dtypes, shapes and bytes: the same for a renamed or re-saved copy."""
    import torch

    h = hashlib.sha256()
    for k in sorted(state):
        t = state[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _metadata(entry: Any) -> dict[str, str | None]:
    """Declared parent, licence and source URL from the import's manifest row (or the entry's labels)."""
    row = dict((entry.imported or {}).get("manifest_row") or {})
    labels = entry.labels or {}
    parent = (row.get("parent") or row.get("pretrainedModelG") or labels.get("declared_parent") or None)
    licence = row.get("license") or row.get("licence") or labels.get("licence") or None
    url = row.get("source_url") or row.get("url") or None
    if not url and row.get("source_repo"):
        url = f"https://github.com/{row['source_repo']}"
    return {"declared_parent": parent, "licence": licence, "source_url": url or labels.get("source_url")}


def sketch_entry(path: str) -> dict[str, Any]:
    """Sketch one zoo entry folder (the executor's job: plain data in, plain data out).

    Raises
    ------
    SrprintError
        The entry cannot be loaded or its model fails on the probes.
    """
    import torch

    from ..io.checkpoints import load_weights
    from ..zoo.entry import ZooEntry
    from ..zoo.model import build_model

    torch.set_num_threads(1)
    entry = ZooEntry.load(path)
    state = load_weights(entry.weights_path)
    model = build_model(entry, state)
    sketch, _ = model_sketch(model, entry.task, entry.scale)
    stats = {**weight_stats(state), **heldout_stats(model, entry.task, entry.scale)}
    return {"id": entry.id, "path": str(Path(path).resolve()), "arch": entry.arch, "task": entry.task,
            "scale": int(entry.scale), "sha256": content_sha256(state), "sketch": sketch.tolist(),
            "stats": stats, **_metadata(entry)}


def record_of(d: dict[str, Any]) -> Record:
    """The index record of a :func:`sketch_entry` result."""
    return Record(d["id"], d["sha256"], d["arch"], d["task"], d["scale"], group_key(d["task"], d["scale"]),
                  np.asarray(d["sketch"], dtype=np.float64), d["stats"], d["path"], d.get("declared_parent"),
                  d.get("licence"), d.get("source_url"))


def resolve_inputs(items: list[Path], *, import_to: Path | None, allow_pickle: bool = False) -> list[Path]:
    """Entry folders for zoo folders, entry folders and checkpoint files (imported into ``import_to``).

    Raises
    ------
    SrprintError
        A path that does not exist, a folder holding no zoo entry, or a file no importer reads.
    """
    from ..zoo.entry import RECORD_FILE

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            if (p / RECORD_FILE).is_file():
                out.append(p)
                continue
            entries = sorted(q.parent for q in p.glob(f"*/{RECORD_FILE}") if not q.parent.name.startswith("."))
            if not entries:
                raise SrprintError(f"{p}: not a zoo (no */{RECORD_FILE}) nor a zoo entry folder")
            out += entries
        elif p.is_file():
            if import_to is None:
                raise SrprintError(f"{p}: a checkpoint file needs a zoo to be imported into")
            from ..zoo.imports import import_file

            entries = import_file(p, import_to, name=_safe_name(p), skip_existing=True, allow_pickle=allow_pickle)
            out += [Path(e.path) for e in entries]
        else:
            raise SrprintError(f"{p}: no such file or folder")
    return out


def _safe_name(p: Path) -> str:
    import re

    name = re.sub(r"[^A-Za-z0-9._+-]", "_", p.stem) or "model"
    return f"{name}-{hashlib.sha256(str(p.resolve()).encode()).hexdigest()[:6]}"


def sketch_all(paths: list[Path], *, executor: str = "local", jobs: int = 1,
               **executor_kwargs: Any) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Sketch every entry folder through the executor: ``(results in input order, [(path, error)])``."""
    from ..execution import get_executor

    ex = get_executor(executor, jobs=jobs, **executor_kwargs)
    done: dict[int, dict[str, Any]] = {}
    failed: list[tuple[str, str]] = []
    for res in ex.map(sketch_entry, [str(p) for p in paths]):
        if res.ok:
            done[res.index] = res.value
        else:
            failed.append((str(paths[res.index]), str(res.error)))
    return [done[i] for i in sorted(done)], failed


def _settle_imports(sketches: list[dict[str, Any]], tmp: Path, models: Path) -> None:
    """Move the entries imported into ``tmp`` to the index's own zoo ``models`` and repoint their sketches."""
    import shutil

    for d in sketches:
        src = Path(d["path"])
        if tmp not in src.parents:
            continue
        dst = models / src.name
        if not dst.exists():
            models.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), str(dst))
        d["path"] = str(dst.resolve())


def index_models(items: list[Path], index_dir: Path, *, executor: str = "local", jobs: int = 1,
                 allow_pickle: bool = False, **executor_kwargs: Any) -> dict[str, Any]:
    """``srprint lineage index``: add the models named by ``items`` to the index at ``index_dir``.

    Checkpoint files are imported into a temporary zoo first and moved into ``index_dir/models`` only
    once they have been sketched, so a file no importer reads leaves nothing behind.
    Returns ``{"results": [AddResult...], "failed": [(path, error)], "groups": {group: size}}``.

    Raises
    ------
    SrprintError
        Nothing could be read (every item failed), or the index is corrupt.
    """
    import shutil
    import tempfile

    if (Path(index_dir) / "records.sqlite").is_file():
        LineageIndex(index_dir).check()  # a corrupt index is refused before any work
    tmp = Path(tempfile.mkdtemp(prefix="srprint-lineage-import-")).resolve()
    try:
        paths = resolve_inputs(items, import_to=tmp, allow_pickle=allow_pickle)
        sketches, failed = sketch_all(paths, executor=executor, jobs=jobs, **executor_kwargs)
        if not sketches:
            first = failed[0] if failed else ("", "nothing to index")
            raise SrprintError(f"nothing indexed: {first[0]}: {first[1]}")
        index = LineageIndex(index_dir, create=True)
        _settle_imports(sketches, tmp, index.root / MODELS_DIR)
        results: list[AddResult] = index.add([record_of(d) for d in sketches])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"results": results, "failed": failed, "groups": index.groups()}
