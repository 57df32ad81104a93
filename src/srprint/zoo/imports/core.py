"""Import third-party checkpoints into a zoo, safely.

``import_checkpoint(path, zoo)`` reads the file (safetensors, ``torch.load(weights_only=True)``,
or a registered reader for ``.pb`` / ``.h5`` / ``.mat``), normalises the state dict, detects the
architecture (spandrel first, then srprint's detectors), rebuilds the network, checks a forward
pass, and writes ``<zoo>/<name>-pretrained/`` (``model.safetensors`` + ``model.json``) through a
temporary folder that is renamed into place, so a failed import leaves the zoo unchanged.
"""

from __future__ import annotations

import csv
import re
import time
import warnings
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...errors import CheckpointError, DatasetError, SpecError, SrprintError, UnsafeCheckpointError
from ...io.checkpoints import check_checkpoint_file, load_state_dict, save_weights, sha256_file
from ...io.names import check_name
from ..archs import create_arch
from ..detection import DETECTORS, READERS, Detection, StateDict, describe
from ..entry import Zoo, ZooEntry, library_versions, write_entry_folder
from ..model import SRModel
from .normalize import normalize_state
from .spandrel_detect import detect_spandrel, wrap_descriptor

TASKS = ("sr", "denoise")
DEFAULT_SIGMA = 25  # noise level used for blind denoisers
ARCH_LABELS = {"DnCNN-BN": "DnCNN"}  # registry name -> family label when no manifest/--arch label is given
TORCH_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".pkl", ".pickle", ".safetensors", ".tar")


@dataclass
class LoadedCheckpoint:
    """A checkpoint file read into memory (before detection)."""

    path: Path
    sha256: str
    framework: str
    unwrapped: StateDict  # original key names (spandrel sees these first)
    state: StateDict  # prefixes stripped (srprint detectors see these)
    notes: list[str] = field(default_factory=list)
    detection: Detection | None = None  # set by readers that know the architecture already


def _framework_of(path: Path) -> str:
    return "safetensors" if path.suffix.lower() == ".safetensors" else "pytorch"


def _stub_class(module: str, name: str) -> type:
    """Stand-in for a class whose code is not available: an ``nn.Module`` that keeps its state."""
    return type(name, (nn.Module,), {"__module__": f"srprint_stub.{module}", "forward": None})


def load_trusted_pickle(p: Path) -> Any:
    """Full unpickling (``--allow-pickle``): runs code from the file. Classes whose modules are not
    installed (e.g. a repo's ``vdsr.Net``) become stub modules, so their weights can be read.

    Raises
    ------
    CheckpointError
        On: "could not be loaded even with --allow-pickle (…: …)".
    """
    import pickle
    import types

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                return _stub_class(module, name)

    def load(fh: Any, **kwargs: Any) -> Any:
        return Unpickler(fh, **kwargs).load()

    stub_pickle = types.ModuleType("srprint_trusted_pickle")
    stub_pickle.Unpickler = Unpickler  # type: ignore[attr-defined]
    stub_pickle.load = load  # type: ignore[attr-defined]
    stub_pickle.__name__ = "pickle"
    warnings.warn(f"UNSAFE: fully unpickling {p} because of --allow-pickle; this can run code from the file",
                  stacklevel=3)
    try:
        with warnings.catch_warnings():  # torch's SourceChangeWarning noise about the pickled classes
            warnings.simplefilter("ignore")
            return torch.load(str(p), map_location="cpu", weights_only=False, pickle_module=stub_pickle)
    except Exception as exc:  # noqa: BLE001 - any failure of a foreign file is a checkpoint error
        raise CheckpointError(f"{p}: could not be loaded even with --allow-pickle ({type(exc).__name__}: "
                              f"{str(exc)[:160]})") from exc


def _looks_like_torch(p: Path) -> bool:
    """PyTorch files are zip archives (``PK``) or legacy pickles (protocol marker ``0x80``)."""
    with open(p, "rb") as fh:
        head = fh.read(4)
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def read_checkpoint(path: str | Path, allow_pickle: bool = False) -> LoadedCheckpoint:
    """Read a checkpoint file safely into a normalised state dict.

    Raises
    ------
    CheckpointError
        Missing file, a directory, an empty/truncated/corrupt file, or no tensors inside.
    UnsafeCheckpointError
        The file needs full unpickling and ``allow_pickle`` is False.
    """
    p = Path(path)
    check_checkpoint_file(p)
    digest = sha256_file(p)
    suffix = p.suffix.lower()
    if suffix in READERS:
        try:
            rr = READERS[suffix](p)
        except SrprintError:
            raise
        except Exception as exc:  # noqa: BLE001 - hostile/corrupt foreign files may fail anywhere in a parser
            msg = f"{type(exc).__name__}: {str(exc)[:160]}"
            raise CheckpointError(f"{p}: could not read {suffix} file ({msg})") from exc
        _, state, notes = normalize_state(rr.state, where=str(p))
        return LoadedCheckpoint(p, digest, rr.framework or suffix.lstrip("."), dict(rr.state), state,
                                list(rr.notes) + notes, rr.detection)
    if suffix not in TORCH_SUFFIXES and not _looks_like_torch(p):
        known = ", ".join(sorted(set(TORCH_SUFFIXES) | set(READERS)))
        raise CheckpointError(f"{p}: unsupported checkpoint format {suffix or '(no suffix)'!r} "
                              f"(not a PyTorch zip/pickle; readable formats: {known})")
    try:
        obj = load_state_dict(p, allow_pickle=False)
    except UnsafeCheckpointError:
        if not allow_pickle:
            raise
        obj = load_trusted_pickle(p)
    unwrapped, state, notes = normalize_state(obj, where=str(p))
    return LoadedCheckpoint(p, digest, _framework_of(p), unwrapped, state, notes)


def detect_architecture(ck: LoadedCheckpoint) -> tuple[Detection, str, list[str]]:
    """spandrel first, then every registered detector. Returns (detection, detected_by, tried).

    Raises
    ------
    CheckpointError
        No detector recognised the layout; the message lists what was tried.
    """
    tried: list[str] = []
    if ck.detection is not None:
        return ck.detection, f"reader {ck.framework}", ["reader"]
    for cand in ([ck.unwrapped] if ck.unwrapped.keys() == ck.state.keys() else [ck.unwrapped, ck.state]):
        det, what = detect_spandrel(cand)
        tried.append(what)
        if det is not None:
            return det, "spandrel", tried
    for name, detector in DETECTORS.items():
        try:
            det = detector(ck.state)
        except Exception as exc:  # noqa: BLE001 - a detector failing on odd shapes means 'not mine'
            tried.append(f"{name} (error: {type(exc).__name__})")
            continue
        if det is not None:
            return det, name, tried
        tried.append(name)
    raise CheckpointError(
        f"{ck.path}: unknown architecture ({describe(ck.state, 4)}); tried "
        f"{'; '.join(tried)}. Pass --arch only for a registered port, or add a detector")


def _build(det: Detection, state: StateDict, scale: int, where: Path) -> nn.Module:
    if det.loader == "spandrel":
        from ..spandrel_net import load_descriptor as _load_descriptor

        return wrap_descriptor(_load_descriptor(state))
    try:
        net = create_arch(det.arch, scale, config=det.arch_config)
    except (SpecError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{where}: cannot build {det.arch} x{scale} ({exc})") from exc
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise CheckpointError(f"{where}: weights do not fit {det.arch} {det.arch_config} "
                              f"({(lines[1] if len(lines) > 1 else lines[0])[:200]})") from exc
    return net.eval()


def _check_forward(model: SRModel, scale: int, where: Path, arch: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 24, 24, generator=g)
    with torch.no_grad():
        y = model(x)
    want = (1, 3, 24 * scale, 24 * scale)
    if tuple(y.shape) != want:
        raise CheckpointError(f"{where}: {arch} x{scale} gives output {tuple(y.shape)} for a 24x24 input, "
                              f"expected {want}: wrong scale or layout")
    if not torch.isfinite(y).all():
        raise CheckpointError(f"{where}: {arch} produces non-finite values")


def _parse_sigma(*texts: str) -> int | None:
    for t in texts:
        if not t:
            continue
        m = re.search(r"sigma\s*=\s*(\d+)", t) or re.search(r"(?:^|[-_])s(\d{2})(?:[-_]|$)", t)
        if m:
            return int(m.group(1))
    return None


def _canon(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _entry_id(name: str, scale: int, multi: bool) -> str:
    return f"{name}-x{scale}-pretrained" if multi else f"{name}-pretrained"


def _write_entry(zoo: Zoo, entry: ZooEntry, state: StateDict, replace: bool) -> ZooEntry:
    """Write the entry atomically into the zoo (:func:`srprint.zoo.entry.write_entry_folder`)."""
    final = zoo.entry_dir(entry.id)
    if final.exists() and zoo.has(entry.id) and not replace:
        raise CheckpointError(f"{entry.id} already exists in zoo {zoo.root}; pass --replace to overwrite")
    return write_entry_folder(final, entry, lambda path: save_weights(path, state, metadata={"srprint_id": entry.id}))


def import_file(
    path: str | Path, zoo: str | Path, name: str | None = None, *, arch: str | None = None, scale: int | None = None,
    loss: str | None = None, task: str | None = None, replace: bool = False, allow_pickle: bool = False,
    manifest_row: dict[str, Any] | None = None, skip_existing: bool = False, sigma: int | None = None,
) -> list[ZooEntry]:
    """Import one checkpoint file; a multi-scale file without ``scale`` gives one entry per scale.

    Parameters
    ----------
    path : path
        The checkpoint (``.pth/.pt/.safetensors``, or a suffix with a registered reader).
    zoo : path
        Zoo folder (created if missing).
    name : str, optional
        Entry name; the id is ``{name}-pretrained`` (``{name}-x{s}-pretrained`` per scale of a
        multi-scale file). Default: the file stem.
    arch : str, optional
        Expected architecture; the import fails if detection finds another one. Also the ``arch`` label.
    scale : int, optional
        Expected scale; a mismatch with the scale read from the weights is an error.
    loss, task : str, optional
        Labels (training loss; ``sr`` or ``denoise``).
    replace : bool
        Overwrite an existing entry of the same id.
    allow_pickle : bool
        Allow full unpickling (runs code from the file!). Off by default.
    sigma : int, optional
        Denoisers: the noise level (0-255 scale). Non-blind models (FFDNet) get it in their
        ``arch_config`` (the level they denoise at); default: parsed from the name/manifest, else 25.
    skip_existing : bool
        Return an existing entry made from the same file (same sha256) instead of failing.

    Raises
    ------
    CheckpointError, UnsafeCheckpointError, SpecError
        One clear line; nothing in the zoo is changed.
    """
    t0 = time.perf_counter()
    row = dict(manifest_row or {})
    name = name or Path(path).stem
    check_name(name, what="model name")
    if task is not None and task not in TASKS:
        raise SpecError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if scale is not None and scale < 1:
        raise SpecError(f"invalid scale {scale}")
    ck = read_checkpoint(path, allow_pickle=allow_pickle)
    det, detected_by, _tried = detect_architecture(ck)
    if arch is not None and _canon(arch) not in {_canon(det.arch), _canon(ARCH_LABELS.get(det.arch, det.arch))}:
        raise CheckpointError(f"{ck.path}: --arch {arch} does not match the weights, which are {det.arch} "
                              f"(detected by {detected_by})")
    multi = len(det.scales) > 1
    if scale is not None:
        ok_scales = det.scales or (det.scale,)
        if scale not in ok_scales:
            have = "/".join(f"x{s}" for s in ok_scales)
            raise CheckpointError(f"{ck.path}: --scale {scale} does not match the weights, which are {have} "
                                  f"({det.scale_evidence or 'from the tensor shapes'})")
        scales = [scale]
    else:
        scales = list(det.scales) if multi else [det.scale]
    det_task = det.task
    if task is not None and task != det_task:
        if not (task == "denoise" and det.scale == 1):
            raise CheckpointError(f"{ck.path}: --task {task} does not fit the weights, which are a {det_task} "
                                  f"model at x{det.scale}")
        det_task = task
    state = det.state if det.state is not None else ck.state
    zoo_obj = Zoo(zoo)
    label_arch = arch or row.get("arch") or ARCH_LABELS.get(det.arch, det.arch)
    loss_label = loss or row.get("loss") or "unknown"
    arch_config = dict(det.arch_config)
    det_notes = list(det.notes)
    sig: int | None = None
    if det_task == "denoise":
        sig = sigma or _parse_sigma(row.get("id", ""), row.get("notes", ""), name)
        if "sigma" in arch_config and sig is not None:  # non-blind (FFDNet): the level is an input of the net
            arch_config["sigma"] = float(sig)
            det_notes = [n for n in det_notes if "noise level fixed" not in n]
            det_notes.append(f"FFDNet noise level fixed at sigma={float(sig):g}/255 (arch_config['sigma'])")
        if arch_config != det.arch_config:
            det = dc_replace(det, arch_config=arch_config, notes=det_notes)
    entries: list[ZooEntry] = []
    for s in scales:
        eid = _entry_id(name, s, multi and scale is None)
        if zoo_obj.has(eid) and not replace:
            existing = zoo_obj.get(eid)
            if skip_existing and (existing.imported or {}).get("sha256") == ck.sha256:
                entries.append(existing)
                continue
            raise CheckpointError(f"{eid} already exists in zoo {zoo_obj.root}; pass --replace to overwrite")
        net = _build(det, state, s, ck.path)
        model = SRModel(net, s, det_task, det.input_range, det.grey, det.residual, name=eid).eval()
        _check_forward(model, s, ck.path, det.arch)
        to_save = det.state if det.loader == "spandrel" and det.state is not None else net.state_dict()
        labels: dict[str, Any] = {"arch": label_arch, "scale": s, "loss": loss_label, "task": det_task,
                                  "source": "imported", "dataset": "", "seed": -1,
                                  "loss_family": "adversarial" if "gan" in loss_label.lower() else "pixel"}
        if det_task == "denoise":
            labels["sigma"] = sig or int(arch_config.get("sigma", DEFAULT_SIGMA))
            labels["blind"] = sig is None and "sigma" not in arch_config
        imported = {
            "file": str(ck.path), "sha256": ck.sha256, "size_bytes": ck.path.stat().st_size,
            "framework": row.get("framework") or ck.framework, "detected_by": detected_by,
            "normalisation": ck.notes + det.notes, "scale_evidence": det.scale_evidence,
            "multi_scale": list(det.scales) if multi else [], "manifest_row": row,
        }
        entry = ZooEntry(
            id=eid, source="imported", arch=det.arch, scale=s, task=det_task, arch_config=dict(det.arch_config),
            loader=det.loader, input_range=det.input_range, grey=det.grey, residual=det.residual,
            imported=imported, labels=labels, status="complete",
            timings={"import_seconds": round(time.perf_counter() - t0, 3)}, versions=library_versions(),
        )
        entries.append(_write_entry(zoo_obj, entry, to_save, replace))
    return entries


def import_checkpoint(
    path: str | Path, zoo: str | Path, name: str | None = None, *, arch: str | None = None, scale: int | None = None,
    loss: str | None = None, task: str | None = None, replace: bool = False, allow_pickle: bool = False,
    sigma: int | None = None,
) -> ZooEntry:
    """Import one checkpoint as one zoo entry (see :func:`import_file`).

    A multi-scale checkpoint (e.g. CARN-M) needs ``scale`` here; :func:`import_file` without a
    scale imports every scale as its own entry.
    """
    entries = import_file(path, zoo, name=name, arch=arch, scale=scale, loss=loss, task=task, replace=replace,
                          allow_pickle=allow_pickle, sigma=sigma)
    return entries[0]


MANIFEST_COLUMNS = ("id", "file")


def _manifest_scale(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _manifest_task(text: str) -> str | None:
    t = (text or "").strip().lower()
    return t if t in TASKS else None


def import_manifest(
    manifest: str | Path, zoo: str | Path, replace: bool = False, *, allow_pickle: bool = False,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Import every row of a manifest CSV (``id,file[,arch,task,scale,loss,framework,...]``).

    ``file`` is relative to the manifest's folder. Rows already imported from the same file are
    skipped (so a rerun resumes). Returns one result dict per row: ``id``, ``file``, ``ok``,
    ``entries`` (ids), ``skipped``, ``arch``, ``detected_by``, ``error``.

    Raises
    ------
    DatasetError
        On: "manifest not found: …"; or "not a UTF-8 text file (byte …); save it as UTF-8 CSV".
    """
    mpath = Path(manifest)
    if not mpath.is_file():
        raise DatasetError(f"manifest not found: {mpath}")
    try:
        with open(mpath, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{mpath}: not a UTF-8 text file (byte {exc.start}); save it as UTF-8 CSV") from exc
    except csv.Error as exc:
        raise DatasetError(f"{mpath}: malformed CSV ({exc})") from exc
    if not rows:
        raise DatasetError(f"{mpath}: empty manifest")
    missing = [c for c in MANIFEST_COLUMNS if c not in rows[0]]
    if missing:
        raise DatasetError(f"{mpath}: missing column(s) {', '.join(missing)} (has: {', '.join(rows[0])})")
    if only:
        rows = [r for r in rows if r["id"] in set(only)]
    results: list[dict[str, Any]] = []
    from ...progress import make_progress

    with make_progress() as prog:
        task_id = prog.add_task("importing", total=len(rows))
        for r in rows:
            res: dict[str, Any] = {"id": r["id"], "file": r["file"], "ok": False, "entries": [], "skipped": False,
                                   "arch": "", "detected_by": "", "error": ""}
            try:
                before = set(Zoo(zoo).ids())
                entries = import_file(
                    mpath.parent / r["file"], zoo, name=r["id"], scale=_manifest_scale(r.get("scale", "")),
                    loss=r.get("loss") or None, task=_manifest_task(r.get("task", "")), replace=replace,
                    allow_pickle=allow_pickle, manifest_row=r, skip_existing=not replace)
                res.update(ok=True, entries=[e.id for e in entries], arch=entries[0].arch,
                           detected_by=(entries[0].imported or {}).get("detected_by", ""),
                           skipped=all(e.id in before for e in entries) and not replace)
            except SrprintError as exc:
                res["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one hostile file must not stop the batch
                res["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            results.append(res)
            prog.advance(task_id)
    return results


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in results if r["ok"]]
    return {"rows": len(results), "imported_rows": len(ok), "failed_rows": len(results) - len(ok),
            "entries": sum(len(r["entries"]) for r in ok), "archs": sorted({r["arch"] for r in ok})}


def raise_if_all_rows_failed(results: list[dict[str, Any]]) -> None:
    """Refuse a manifest import in which every row failed (some failures only warn).

    Parameters
    ----------
    results : list of dict
        The rows :func:`import_manifest` returned.

    Raises
    ------
    SrprintError
        If there are rows and none was imported, naming the first failure.
    """
    failed = [r for r in results if not r["ok"]]
    if results and len(failed) == len(results):
        raise SrprintError(f"all {len(results)} manifest rows failed; first: {failed[0]['id']}: {failed[0]['error']}")
