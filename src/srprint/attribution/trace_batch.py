"""Tracing files (``srprint trace``, :func:`srprint.trace`, ``attribute predict --confirm``): each file its
own way (a JPEG by the requantisation test, other images by pixels), with the progress shown and the
folder's verdict; the maths of one image is :func:`.trace.trace_image`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..errors import SrprintError


def image_files(target: Path) -> list[Path]:
    """The image files to trace: ``target`` itself, or every image of the folder ``target``.

    Parameters
    ----------
    target : Path
        An image file or a folder of images.

    Returns
    -------
    list of Path
        The files, sorted as :func:`srprint.io.images.list_images` lists them.

    Raises
    ------
    SrprintError
        If ``target`` does not exist, is a folder with no image, or is not an image file.
    """
    from ..io.images import IMAGE_SUFFIXES, list_images

    if target.is_dir():
        files = list_images(target)
        if not files:
            raise SrprintError(f"no image in folder {target}")
        return files
    if not target.is_file():
        raise SrprintError(f"image or folder not found: {target}")
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise SrprintError(f"{target}: not an image file ({', '.join(IMAGE_SUFFIXES)})")
    return [target]


def zoo_entries(zoos: list[Path], *, models: str | None = None) -> list[Any]:
    """Every entry of the zoo folders ``zoos`` (the candidates of a trace).

    Parameters
    ----------
    zoos : list of Path
        Zoo folders.
    models : str, optional
        Comma-separated substrings of model ids; at least one entry must match one of them.

    Returns
    -------
    list of ZooEntry
        The entries, zoo by zoo.

    Raises
    ------
    SrprintError
        If a zoo folder is missing, the zoos hold no model, or ``models`` matches no model id.
    """
    from ..zoo.entry import Zoo

    out = []
    for z in zoos:
        if not Path(z).is_dir():
            raise SrprintError(f"--zoo {z}: not a zoo folder")
        out += Zoo(z).entries()
    if not out:
        raise SrprintError(f"no model in {', '.join(map(str, zoos))}")
    pats = [p.strip() for p in (models or "").split(",") if p.strip()]
    if pats and not any(p in e.id for e in out for p in pats):
        raise SrprintError(f"--models {models!r} matches no model id in {', '.join(map(str, zoos))} "
                           f"(has: {', '.join(sorted(e.id for e in out)[:8])})")
    return out


def read_traceable(f: Path) -> tuple[Any, Any, str | None]:
    """Pixels, the JPEG structure (None for other files) and how the file is traced.

    Parameters
    ----------
    f : Path
        An image file.

    Returns
    -------
    tuple
        ``(pixels, JpegInfo or None, how)``: ``how`` names the route when it is not plain pixels.

    Raises
    ------
    ImageError
        If the file cannot be decoded.
    """
    from .jpeg_file import JpegColourError
    from .jpeg_trace import jpeg_source, looks_like_former_jpeg
    from .trace import read_for_trace

    try:
        src = jpeg_source(f)
    except JpegColourError as exc:  # its pixels decode: traced by them, and the line says what that costs
        return read_for_trace(f), None, (f"pixels (8-bit floor); {exc} by the requantisation test, so its decoded "
                                         "pixels are traced (the JPEG's loss may keep the model that made it from "
                                         "being confirmed)")
    if src is not None:
        info, img = src
        return img, info, f"jpeg {info.subsampling}, {info.mcu[1]}x{info.mcu[0]} MCU (requantisation test)"
    img = read_for_trace(f)
    if looks_like_former_jpeg(img):
        return img, None, ("pixels (8-bit floor); the image shows 8x8 JPEG blocking: it was a JPEG once and its "
                           "tables are lost, so a model may fail to be confirmed")
    return img, None, None


def _unfit(f: Path, img: Any, entries: list[Any], models: str | None) -> tuple[str, dict[str, Any]]:
    """A file no candidate's size fits: skipped (the ``models`` filter leaves none) or *none of these*."""
    from .trace import RESIZED, candidates

    scales = sorted({e.scale for e in entries if e.task == "sr"})
    if not candidates(entries, (8 * 9 * 5 * 7,) * 2, models=models):  # nothing of any size: the filter
        return "skipped", {"path": str(f), "reason": f"no candidate fits a {img.shape[1]}x{img.shape[0]} "
                           f"image (zoo scales {scales})"}
    return "result", {"path": str(f), "verdict": "none of these models", "model": None, "p_value": None,
                      "candidates": [], "skipped": [], "path_taken": "size",
                      "explanation": f"{RESIZED} (a {img.shape[1]}x{img.shape[0]} image is no multiple of any "
                                     f"candidate scale {scales})"}


def trace_files(files: list[Path], entries: list[Any], *, shortlists: dict[str, set[str]] | None = None,
                models: str | None = None, settings: Any = None, alpha: float = 1e-3,
                device: str = "cpu") -> dict[str, Any]:
    """Trace every file, each its own way (JPEG files by the requantisation test, others by pixels).

    With ``shortlists`` (a classifier's top K per file) those candidates are inverted first and the
    others only when none is confirmed. Unreadable files, unsupported JPEGs (progressive, arithmetic, ...)
    and JPEGs that no candidate can be searched through (no crop aligns to the MCU and scale grids) are
    skipped with a reason; a CMYK or RGB-coded JPEG is traced by its pixels (the route says so); a file no
    candidate's scale fits gets *none of these models* with the reason.

    Parameters
    ----------
    files : list of Path
        The image files.
    entries : list of ZooEntry
        The candidate models (filtered per image by :func:`.trace.candidates`).
    shortlists : dict, optional
        File path -> candidate ids to invert first.
    models : str, optional
        Only candidates whose id contains one of these comma-separated substrings.
    settings : TraceSettings, optional
        Crop, steps and calibration of the inversion (default: the library's).
    alpha : float
        The significance level of *made by*.
    device : str
        The resolved torch device the candidates run on (``cpu`` or ``cuda[:N]``).

    Returns
    -------
    dict
        ``images`` (one verdict per traced file), ``skipped`` (``path``, ``reason``) and, for several
        files, the folder's ``aggregate``.

    Raises
    ------
    SrprintError
        If no file could be traced ("nothing traced: ...").
    """
    from ..errors import ImageError
    from ..progress import make_progress
    from ..verification.fingerprint import load_entry_model
    from .trace import aggregate, candidates, trace_image

    cache: dict[str, Any] = {}

    def load(e: Any) -> Any:
        if e.id not in cache:
            cache[e.id] = load_entry_model(e, device=device)
        return cache[e.id]

    results, skipped = [], []
    with make_progress() as prog:
        task = prog.add_task("tracing", total=len(files))
        for f in files:
            try:
                img, info, how = read_traceable(f)
            except (ImageError, OSError, SrprintError) as exc:
                if len(files) > 1:  # one file: the error line says it ("nothing traced: ...")
                    warnings.warn(f"skipped {f}: {exc}", stacklevel=2)
                skipped.append({"path": str(f), "reason": str(exc)})
                prog.advance(task)
                continue
            propose = shortlists.get(str(f)) if shortlists is not None else None
            cands = candidates(entries, img.shape, models=models)
            if not cands:
                kind, row = _unfit(f, img, entries, models)
                (skipped if kind == "skipped" else results).append(row)
                prog.advance(task)
                continue
            res = trace_image(img, cands, load, settings=settings, alpha=alpha, jpeg=info, propose=propose,
                              source=how,
                              progress=lambda mid, name=f.name: prog.update(task, description=f"tracing {name}: {mid}"))
            if info is not None and not res["candidates"] and res["skipped"]:
                # no candidate could be searched through this JPEG (say, no crop aligns to its MCU grid): the
                # file is skipped with the reason, not answered *none of these models*
                reasons = sorted({s["reason"] for s in res["skipped"]})
                skipped.append({"path": str(f), "reason": "; ".join(reasons[:2])})
                if len(files) > 1:
                    warnings.warn(f"skipped {f}: {reasons[0]}", stacklevel=2)
                prog.advance(task)
                continue
            results.append({"path": str(f), **res})
            prog.advance(task)
    out: dict[str, Any] = {"images": results, "skipped": skipped}
    if len(files) > 1:
        out["aggregate"] = aggregate(results)
    if not results:
        raise SrprintError("nothing traced: " + "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3]))
    return out
