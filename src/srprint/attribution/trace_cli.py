"""``srprint trace``: the body of the command (candidates, progress, printing); the maths is in :mod:`.trace`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..cli_common import printed_as_json, stdout
from ..errors import SrprintError


def _files(target: Path) -> list[Path]:
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


def _zoo_entries(zoos: list[Path]) -> list[Any]:
    from ..zoo.entry import Zoo

    out = []
    for z in zoos:
        if not Path(z).is_dir():
            raise SrprintError(f"--zoo {z}: not a zoo folder")
        out += Zoo(z).entries()
    if not out:
        raise SrprintError(f"no model in {', '.join(map(str, zoos))}")
    return out


def _shortlists(run: Path, files: list[Path], top: int, device: str = "cpu") -> dict[str, set[str]]:
    from .predict import predict_images

    shortlist: dict[str, set[str]] = {}
    for f in files:
        res = predict_images(run, f, top_k=top, device=device)
        for im in res["images"]:
            shortlist[str(f)] = {t["class"] for t in im["top"]}
    return shortlist


def _read(f: Path) -> tuple[Any, Any, str | None]:
    """Pixels, the JPEG structure (None for other files) and how the file is traced."""
    from .jpeg_trace import jpeg_source, looks_like_former_jpeg
    from .trace import read_for_trace

    src = jpeg_source(f)
    if src is not None:
        info, img = src
        return img, info, f"jpeg {info.subsampling}, {info.mcu[1]}x{info.mcu[0]} MCU (requantisation test)"
    img = read_for_trace(f)
    if looks_like_former_jpeg(img):
        return img, None, ("pixels (8-bit floor); the image shows 8x8 JPEG blocking: it was a JPEG once and its "
                           "tables are lost, so a model may fail to be confirmed")
    return img, None, None


def trace_files(files: list[Path], entries: list[Any], *, shortlists: dict[str, set[str]] | None = None,
                models: str | None = None, settings: Any = None, alpha: float = 1e-3,
                device: str = "cpu") -> dict[str, Any]:
    """Trace every file, each its own way (JPEG files by the requantisation test, others by pixels).

    With ``shortlists`` (a classifier's top K per file) those candidates are inverted first and the
    others only when none is confirmed. Unreadable files are skipped with a reason; a file no
    candidate's scale fits gets *none of these models* with the reason.

    Parameters
    ----------
    device : str
        The resolved torch device the candidates run on (``cpu`` or ``cuda[:N]``).

    Raises
    ------
    SrprintError
        On: "nothing traced:".
    """
    from ..errors import ImageError
    from ..progress import make_progress
    from ..verification.fingerprint import load_entry_model
    from .trace import RESIZED, aggregate, candidates, trace_image

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
                img, info, how = _read(f)
            except (ImageError, OSError, SrprintError) as exc:
                warnings.warn(f"skipped {f}: {exc}", stacklevel=2)
                skipped.append({"path": str(f), "reason": str(exc)})
                prog.advance(task)
                continue
            propose = shortlists.get(str(f)) if shortlists is not None else None
            cands = candidates(entries, img.shape, models=models)
            if not cands:
                scales = sorted({e.scale for e in entries if e.task == "sr"})
                if not candidates(entries, (8 * 9 * 5 * 7,) * 2, models=models):  # nothing of any size: the filter
                    skipped.append({"path": str(f), "reason": f"no candidate fits a {img.shape[1]}x{img.shape[0]} "
                                    f"image (zoo scales {scales})"})
                else:
                    results.append({"path": str(f), "verdict": "none of these models", "model": None,
                                    "p_value": None, "candidates": [], "skipped": [], "path_taken": "size",
                                    "explanation": f"{RESIZED} (a {img.shape[1]}x{img.shape[0]} image is no "
                                                   f"multiple of any candidate scale {scales})"})
                prog.advance(task)
                continue
            res = trace_image(img, cands, load, settings=settings, alpha=alpha, jpeg=info, propose=propose,
                              source=how,
                              progress=lambda mid, name=f.name: prog.update(task, description=f"tracing {name}: {mid}"))
            results.append({"path": str(f), **res})
            prog.advance(task)
    out: dict[str, Any] = {"images": results, "skipped": skipped}
    if len(files) > 1:
        out["aggregate"] = aggregate(results)
    if not results:
        raise SrprintError("nothing traced: " + "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:3]))
    return out


def run_trace(target: Path, zoos: list[Path], *, run: Path | None, top: int, models: str | None, crop: int,
              steps: int, alpha: float, as_json: bool, device: str = "cpu") -> None:
    from .trace import TraceSettings

    settings = TraceSettings(crop=crop, steps=steps)
    files = _files(target)
    entries = _zoo_entries(zoos)
    pats = [p.strip() for p in (models or "").split(",") if p.strip()]
    if pats and not any(p in e.id for e in entries for p in pats):
        raise SrprintError(f"--models {models!r} matches no model id in {', '.join(map(str, zoos))} "
                           f"(has: {', '.join(sorted(e.id for e in entries)[:8])})")
    shortlists = _shortlists(run, files, top, device) if run is not None else None
    out = trace_files(files, entries, shortlists=shortlists, models=models, settings=settings, alpha=alpha,
                      device=device)
    if printed_as_json(out, as_json):
        return
    for im in out["images"]:
        stdout.print(f"{im['path']}: [bold]{im['verdict']}{' ' + im['model'] if im.get('model') else ''}[/]",
                     highlight=False)
        stdout.print(f"  {im['explanation']}", highlight=False, soft_wrap=True)
        if im.get("path_taken"):
            stdout.print(f"  traced as: {im['path_taken']}", highlight=False, soft_wrap=True)
        for row in im["candidates"][:5]:
            if "violations" in row:
                stdout.print(f"    {row['id']:45s} {row['violations']} of {row['n']} coefficients outside the cells, "
                             f"p = {row['p_value']:.2g}", highlight=False)
                continue
            stdout.print(f"    {row['id']:45s} residual {row['residual']:.3g} ({row['floor_ratio']:.3g}x floor), "
                         f"p = {row['p_value']:.2g}", highlight=False)
    for s in out["skipped"]:
        stdout.print(f"[yellow]skipped[/] {s['path']}: {s['reason']}", highlight=False)
    if "aggregate" in out:
        agg = out["aggregate"]
        stdout.print(f"folder verdict ({agg['n']} images, {agg['agree']} agree): {agg['verdict']}"
                     f"{' ' + agg['model'] if agg.get('model') else ''}", highlight=False)
