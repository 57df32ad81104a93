"""One render job: every corpus image through one zoo model (run in-process, in a pool or on Ray)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError
from ..io.env import env_number
from ..io.images import center_crop, crop_to_multiple, read_image, write_png
from ..io.names import check_name
from ..io.outputs import check_inside
from ..zoo.entry import ZooEntry
from .corpus import png_ok
from .labels import denoise_sigma

_STORAGE_ERRNOS = {28, 13, 30, 122, 1, 27}  # ENOSPC, EACCES, EROFS, EDQUOT, EPERM, EFBIG
# Test hook: hard-exit the process (like SIGKILL) after writing this many PNGs.
CRASH_ENV = "SRPRINT_RENDER_CRASH_AFTER"
progress_hook: Callable[[str, int, bool], None] | None = None  # set in-process only (jobs=1) for a live bar
_written_in_process = [0]  # PNGs written by this process (for the crash test hook)



@dataclass(frozen=True)
class RenderJob:
    """Render every image of one model (``entry_dir == ""`` for the real ``HR`` class)."""

    model_id: str
    entry_dir: str
    corpus_root: str
    images: tuple[tuple[str, str, int, int], ...]  # (image_id, file, width, height)
    out: str
    hr_crop: int | None
    device: str
    batch_size: int
    noise_seed: int


def _output_size(w: int, h: int, scale: int, hr_crop: int | None) -> tuple[int, int]:
    if hr_crop:
        n = (hr_crop // scale) * scale
        return n, n
    return w - w % scale, h - h % scale


def _hr_input(img: np.ndarray, scale: int, hr_crop: int | None) -> np.ndarray:
    return center_crop(img, hr_crop, multiple=scale) if hr_crop else crop_to_multiple(img, scale)


def _noise_rng(seed: int, image_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{image_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


class _StorageError(Exception):
    pass


def _write(path: Path, arr: np.ndarray) -> None:
    try:
        write_png(path, arr)
    except OSError as exc:
        raise _StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def render_job(job: RenderJob) -> dict[str, Any]:
    """Worker: load the model once, skip intact PNGs, render the rest in batches of equal size."""
    import torch

    from ..degradation import bicubic_downscale, to_numpy, to_tensor
    from ..zoo.model import load_model

    t0 = time.perf_counter()
    out_dir = check_inside(job.out, Path(job.out) / check_name(job.model_id, what="model id"))
    res: dict[str, Any] = {"model_id": job.model_id, "rendered": 0, "existing": 0, "bad_images": {},
                           "infer_seconds": 0.0, "load_seconds": 0.0, "storage_error": None}
    crash_after = int(env_number(CRASH_ENV, 0, integer=True, minimum=0))
    entry, model, scale, sigma = None, None, 1, None
    if job.entry_dir:
        entry = ZooEntry.load(job.entry_dir)
        scale = int(entry.scale) if entry.task == "sr" else 1
        if entry.task != "sr":
            sigma = denoise_sigma(entry)
    todo = []
    for image_id, file, w, h in job.images:
        target = check_inside(out_dir, out_dir / f"{check_name(image_id, what='image id')}.png")
        ow, oh = _output_size(w, h, scale, job.hr_crop)
        if png_ok(target, ow, oh):  # output size = the (cropped) HR size
            res["existing"] += 1
        else:
            todo.append((image_id, file, target, (oh, ow)))
    if progress_hook and res["existing"]:
        progress_hook(job.model_id, res["existing"], False)
    if not todo:
        res["seconds"] = time.perf_counter() - t0
        return res
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        res["storage_error"] = f"cannot create {out_dir}: {exc.strerror or exc}"
        return res
    if entry is not None:
        tl = time.perf_counter()
        model = load_model(entry, device=job.device)  # only when something is left to render
        res["load_seconds"] = time.perf_counter() - tl

    # batches of equal HR size (read lazily, so memory stays at one batch)
    by_size: dict[tuple[int, int], list[tuple[str, str, Path]]] = {}
    for image_id, file, target, size in todo:
        by_size.setdefault(size, []).append((image_id, file, target))
    batches = [items[i: i + max(1, job.batch_size)] for items in by_size.values()
               for i in range(0, len(items), max(1, job.batch_size))]

    def load_batch(items: list[tuple[str, str, Path]]) -> list[tuple[list[Path], torch.Tensor]]:
        targets: list[Path] = []
        xs: list[torch.Tensor] = []
        for image_id, file, target in items:
            try:
                hr = _hr_input(read_image(Path(job.corpus_root) / file), scale, job.hr_crop)
            except ImageError as exc:
                res["bad_images"][image_id] = str(exc)
                continue
            x = to_tensor(hr)
            if sigma is not None:
                rng = _noise_rng(job.noise_seed, image_id)
                noise = rng.normal(0.0, sigma, size=tuple(x.shape)).astype(np.float32)
                x = torch.round((x + torch.from_numpy(noise)).clamp(0, 1) * 255.0) / 255.0
            targets.append(target)
            xs.append(x)
        out = []
        for shape in dict.fromkeys(tuple(x.shape) for x in xs):  # equal sizes (unless EXIF lied)
            idx = [k for k, x in enumerate(xs) if tuple(x.shape) == shape]
            xb = torch.stack([xs[k] for k in idx])
            if entry is not None and sigma is None and scale > 1:
                xb = bicubic_downscale(xb, scale, quantize=True)  # the shared degradation, batched
            out.append(([targets[k] for k in idx], xb))
        return out

    # PNG encoding + atomic writes run on one background thread, overlapping the next forward pass
    lock = threading.Lock()

    def write_one(target: Path, y: torch.Tensor) -> None:
        _write(target, to_numpy(y))
        with lock:
            _written_in_process[0] += 1
            res["rendered"] += 1
            if crash_after and _written_in_process[0] >= crash_after:
                os._exit(137)  # simulated kill (test hook): no cleanup, no manifest

    pending: list[Future[None]] = []

    def drain(keep: int) -> None:
        while len(pending) > keep:
            pending.pop(0).result()  # re-raises a write error

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="srprint-png") as writer:
        try:
            for items in batches:
                for targets, xb in load_batch(items):
                    if model is None:
                        outs = list(xb)
                    else:
                        ti = time.perf_counter()
                        outs = list(model.infer(xb.to(job.device)).float().cpu())
                        res["infer_seconds"] += time.perf_counter() - ti
                    drain(0 if model is None else len(targets))  # at most one batch waits to be written
                    pending.extend(writer.submit(write_one, t, y) for t, y in zip(targets, outs, strict=True))
                if progress_hook:
                    progress_hook(job.model_id, len(items), True)
            drain(0)
        except _StorageError as exc:
            res["storage_error"] = str(exc)
            for fut in pending:
                fut.cancel()
    res["seconds"] = time.perf_counter() - t0
    return res


