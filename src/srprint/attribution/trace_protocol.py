"""The benchmark of tracing images to their model by inversion (issue 16), shared by ``bench/trace.py`` and the study.

Test images: for every SR model of :attr:`TraceOptions.test_scales` in the zoo of imported published
checkpoints, :attr:`TraceOptions.photos` Kodak24 photos (an aligned centre crop of each; one photo per
model is the CPU budget), bicubic-downscaled, super-resolved by the model and saved as 8 bits.
Candidates: every SR model and denoiser of the zoo whose scale fits the crop. The calibration uses
scikit-image's bundled photos and Set5 only (:func:`~.trace.calibration_sources`), never Kodak24.

* closed set: top-1 accuracy and the "made by" rate with every candidate;
* open set: each image's true model removed from the candidates (its row dropped and the verdict
  re-decided from the others): "none of these" is right; false attributions counted and the AUROC of
  the best candidate's p-value (true model present vs absent) reported;
* cost: seconds per image with coarse-to-fine pruning (every candidate ``coarse_steps`` steps, the
  best ``keep`` refined), and on the first ``full_images`` images with every candidate refined;
* JPEG recompression of the x2 models' images.

:func:`run_trace_protocol` returns the result record (the keys of ``bench/results/trace.json``),
:func:`trace_markdown` its table, and :func:`mini_stage` is the ``srprint study --preset mini`` stage.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SrprintError
from ..progress import console
from .inversion import INVERSION_LR, INVERSION_STEPS
from .trace import ALPHA, CROP, N_CALIBRATION, TraceSettings, candidates, centre_crop, decide, trace_image

PHOTO_SET = "Kodak24"  # the test photos: never among the calibration photos


@dataclass(frozen=True)
class TraceOptions:
    """The protocol's knobs; the defaults are the benchmark's.

    Attributes
    ----------
    photos : int
        Test photos per model (the first of Kodak24).
    crop : int
        Output pixels of the centre crop that is made and traced.
    coarse_steps, keep : int
        Coarse-to-fine pruning: every candidate ``coarse_steps`` steps, the best ``keep`` refined.
    full_images : int
        Images also traced without pruning (timing; calibrates every candidate).
    jpeg : tuple of int
        JPEG qualities the x2 models' images are recompressed at and traced again.
    threads : int
        Torch CPU threads while the protocol runs (restored afterwards).
    test_scales : tuple of int
        Scales of the models whose images are traced (the CPU budget: x2).
    exclude : tuple of str
        Candidates left out, by id substring (CRAFT: minutes per inversion on a CPU).
    steps, lr, n_calibration : int, float, int
        Inversion steps and step size, and calibration crops per candidate (:class:`~.trace.TraceSettings`).
    """

    photos: int = 1
    crop: int = CROP
    coarse_steps: int = 40
    keep: int = 8
    full_images: int = 0
    jpeg: tuple[int, ...] = (90,)
    threads: int = 2
    test_scales: tuple[int, ...] = (2,)
    exclude: tuple[str, ...] = ("craft_",)
    steps: int = INVERSION_STEPS
    lr: float = INVERSION_LR
    n_calibration: int = N_CALIBRATION

    def __post_init__(self) -> None:
        if self.photos < 1 or self.full_images < 0 or self.threads < 1 or any(s < 1 for s in self.test_scales):
            raise SrprintError(f"bad trace options: photos {self.photos}, threads {self.threads}, test scales "
                               f"{self.test_scales} (>= 1), full_images {self.full_images} (>= 0)")
        if any(not 1 <= q <= 100 for q in self.jpeg):
            raise SrprintError(f"JPEG qualities must lie in 1..100, not {self.jpeg}")
        self.settings(pruned=True)  # TraceSettings refuses a bad crop, step count or pruning here, not mid-run

    def settings(self, *, pruned: bool) -> TraceSettings:
        """The :class:`~.trace.TraceSettings` of a pruned (coarse-to-fine) or full trace.

        Raises
        ------
        SrprintError
            If the crop, steps, step size, calibration size or pruning are out of range.
        """
        extra = {"coarse_steps": self.coarse_steps, "keep": self.keep} if pruned else {}
        return TraceSettings(crop=self.crop, steps=self.steps, lr=self.lr, n_calibration=self.n_calibration, **extra)


def kodak_photos(n: int) -> list[np.ndarray]:
    """The first ``n`` Kodak24 photos of the shared data, RGB float in ``[0, 1]``.

    Raises
    ------
    DatasetError
        If the shared image manifest is missing or has no Kodak24 photo.
    """
    from ..io.images import read_image
    from ..zoo.training_sets import shared_images

    return [read_image(p)[..., :3] for p in shared_images((PHOTO_SET,))[:n]]


def made_image(model: Any, photo: np.ndarray, scale: int, size: int) -> np.ndarray:
    """``model``'s output on the bicubic-downscaled aligned centre crop of ``photo``, saved as 8 bits."""
    import torch

    from ..degradation import bicubic_downscale

    hr = centre_crop(photo, size, scale)
    x = torch.from_numpy(np.ascontiguousarray(hr.transpose(2, 0, 1))).float()[None]
    with torch.no_grad():
        out = model.infer(bicubic_downscale(x, scale, quantize=True))
    return np.round(out[0].numpy().transpose(1, 2, 0) * 255) / 255


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (float RGB) recompressed as a JPEG of ``quality`` and decoded again."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((img * 255).round().astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.float32) / 255


def _trace_one(entry: Any, img: np.ndarray, cands: list[Any], load: Callable[[Any], Any], *,
               options: TraceOptions, photo: int, full: bool) -> dict[str, Any]:
    pruned = options.settings(pruned=True)
    t_img = time.perf_counter()
    res = trace_image(img, cands, load, settings=pruned)
    wall = time.perf_counter() - t_img
    # open set: the true model's row dropped and the verdict re-decided from the others
    kept = [c for c in res["candidates"] if c["id"] != entry.id]
    opened = decide(kept, level=pruned.pixel_level) if kept else {"verdict": "none of these models", "p_value": None}
    row = {"model": entry.id, "scale": entry.scale, "photo": photo, "n_candidates": len(cands),
           "verdict": res["verdict"], "predicted": res.get("model"),
           "argmin": res["candidates"][0]["id"] if res["candidates"] else None,
           "true_in_refined": entry.id in {c["id"] for c in res["candidates"]},
           "p_best": res["candidates"][0]["p_value"],
           "true_ratio": next((c["ratio"] for c in res["candidates"] if c["id"] == entry.id), None),
           "open_verdict": opened["verdict"], "open_model": opened.get("model"),
           "open_p_best": kept[0]["p_value"] if kept else None, "seconds": round(wall, 1)}
    if full:
        ts = time.perf_counter()
        fres = trace_image(img, cands, load, settings=options.settings(pruned=False))
        row["full_verdict"], row["full_predicted"] = fres["verdict"], fres.get("model")
        row["full_seconds"] = round(time.perf_counter() - ts, 1)
    for q in options.jpeg if entry.scale == 2 else ():
        jres = trace_image(jpeg(img, q), cands, load, settings=pruned)
        row[f"jpeg{q}_predicted"] = jres.get("model")
        row[f"jpeg{q}_argmin"] = jres["candidates"][0]["id"] if jres["candidates"] else None
    return row


def run_trace_protocol(*, zoo: Path, options: TraceOptions | None = None,
                       photos: Sequence[np.ndarray] | None = None,
                       on_image: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the tracing benchmark over the models of ``zoo`` and return its result record.

    Inversion runs on the CPU (the calibrations cached under ``$SRPRINT_HOME/trace`` are CPU results).

    Parameters
    ----------
    zoo : Path
        The zoo of imported published checkpoints (test models and candidates).
    options : TraceOptions, optional
        The protocol's knobs (default: the benchmark's).
    photos : sequence of ndarray, optional
        Test photos, RGB float in ``[0, 1]`` (default: the first ``options.photos`` of Kodak24).
    on_image : callable, optional
        Called with the result so far after every image (the bench writes it: a killed run keeps its numbers).

    Returns
    -------
    dict
        The keys of ``bench/results/trace.json``: counts, AUROC, JPEG and timing summaries, and ``rows``.

    Raises
    ------
    SrprintError
        If ``zoo`` does not exist or has no SR model of ``options.test_scales`` fitting the crop, or (as
        :class:`~srprint.errors.DatasetError`) the shared Kodak24 photos are missing.
    """
    import torch

    from ..verification.fingerprint import load_entry_model
    from ..zoo.entry import Zoo

    options = options or TraceOptions()
    zoo = Path(zoo)
    if not zoo.is_dir():
        raise SrprintError(f"zoo folder not found: {zoo}")
    t0 = time.perf_counter()
    entries = [e for e in Zoo(zoo).entries()
               if e.task in ("sr", "denoise") and not any(x in e.id for x in options.exclude)]
    tests = [e for e in entries if e.task == "sr" and options.crop % e.scale == 0 and e.scale in options.test_scales]
    if not tests:
        raise SrprintError(f"no SR model of scale {', '.join(map(str, options.test_scales))} in {zoo} fits a "
                           f"{options.crop}-px crop; nothing to trace")
    photo_list = list(photos) if photos is not None else kodak_photos(options.photos)
    threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    rows: list[dict[str, Any]] = []
    try:
        models = {e.id: load_entry_model(e) for e in entries}
        for k, e in enumerate(tests):
            for j, photo in enumerate(photo_list):
                img = made_image(models[e.id], photo, e.scale, options.crop)
                cands = candidates(entries, img.shape)
                row = _trace_one(e, img, cands, lambda c: models[c.id], options=options, photo=j,
                                 full=k < options.full_images and j == 0)
                rows.append(row)
                if on_image is not None:
                    on_image(_summarise(rows, options, t0))
                console.print(f"{e.id}: {row['verdict']} {row['predicted']} (open: {row['open_verdict']}), true "
                              f"ratio {row['true_ratio']}, {time.perf_counter() - t0:.0f}s", highlight=False)
    finally:
        torch.set_num_threads(threads)
    return _summarise(rows, options, t0)


def _summarise(rows: list[dict[str, Any]], options: TraceOptions, t0: float) -> dict[str, Any]:
    from ..classify.openset import auroc_known_vs_unknown

    pos = [r["p_best"] for r in rows if r["argmin"] == r["model"]]
    neg = [r["open_p_best"] for r in rows if r["open_p_best"] is not None]
    jres = {}
    for q in options.jpeg:
        jr = [r for r in rows if f"jpeg{q}_argmin" in r]
        jres[q] = {"n": len(jr), "made_by_right": sum(r[f"jpeg{q}_predicted"] == r["model"] for r in jr),
                   "argmin_right": sum(r[f"jpeg{q}_argmin"] == r["model"] for r in jr)}
    fulls = [r for r in rows if "full_seconds" in r]
    return {"images": len(rows), "models": len({r["model"] for r in rows}),
            "candidates_max": max((r["n_candidates"] for r in rows), default=0),
            "alpha": ALPHA, "settings": {"pruned": asdict(options.settings(pruned=True))},
            "excluded": ",".join(options.exclude),
            "top1_made_by": sum(r["predicted"] == r["model"] for r in rows),
            "argmin_right": sum(r["argmin"] == r["model"] for r in rows),
            "open_false_attributions": sum(r["open_verdict"] == "made by" for r in rows),
            # a small p-value means "made by": negated so the known class scores high
            "auroc": auroc_known_vs_unknown(-np.asarray(pos, float), -np.asarray(neg, float)), "jpeg": jres,
            "seconds_per_image_pruned": float(np.mean([r["seconds"] for r in rows])) if rows else float("nan"),
            "seconds_per_image_full": float(np.mean([r["full_seconds"] for r in fulls])) if fulls else None,
            "full_agree": sum(r["full_predicted"] == r["predicted"] for r in fulls), "full_n": len(fulls),
            "rows": rows, "seconds": round(time.perf_counter() - t0, 1)}


def trace_markdown(r: dict[str, Any]) -> str:
    """The Markdown table of a :func:`run_trace_protocol` result (title first, as ``write_table`` wants).

    Raises
    ------
    KeyError
        If ``r`` lacks a key of the result record.
    """
    s = r["settings"]["pruned"]
    lines = ["# Tracing images to their model by inversion (issue 16)", "",
             f"{r['images']} images of {r['models']} published SR models (Kodak24 {s['crop']}-px crops, 8-bit), up "
             f"to {r['candidates_max']} candidates each (every imported SR model and denoiser that fits); "
             f"calibration on scikit-image's bundled photos and Set5 only; alpha = {r['alpha']:g}. "
             f"Total {r['seconds']:.0f} s.", "",
             "| measure | result | target |", "|---|---|---|",
             f"| top-1 *made by* the true model, all candidates | {r['top1_made_by']}/{r['images']} | >= 99 % |",
             f"| true model ranked first (smallest calibrated p-value) | {r['argmin_right']}/{r['images']} | |",
             f"| open set: false attributions with the true model removed | {r['open_false_attributions']}/"
             f"{r['images']} | 0 |",
             f"| open set AUROC (best p-value, true model present vs removed) | {r['auroc']:.3f} | >= 0.99 |",
             f"| seconds per image, coarse-to-fine (all candidates {s['coarse_steps']} steps, best {s['keep']} "
             f"refined; first use of a candidate includes its calibration) | "
             f"{r['seconds_per_image_pruned']:.1f} | <= 60 (top-5 path) |",
             f"| seconds per image, every candidate refined | {r['seconds_per_image_full'] or float('nan'):.1f} "
             f"(same verdict on {r['full_agree']}/{r['full_n']}) | |"]
    for q, j in r["jpeg"].items():
        lines.append(f"| JPEG q = {q} (x2 models): made by the true model / true model ranked first | "
                     f"{j['made_by_right']}/{j['n']} / {j['argmin_right']}/{j['n']} | >= 95 % at q = 90 |")
    lines += ["", "| model | verdict | predicted | true ratio | p (best) | open-set verdict | s |",
              "|---|---|---|---:|---:|---|---:|"]
    for x in r["rows"]:
        tr = f"{x['true_ratio']:.3g}" if x["true_ratio"] is not None else "pruned"
        lines.append(f"| {x['model']} | {x['verdict']} | {x['predicted'] or '-'} | {tr} | {x['p_best']:.2g} | "
                     f"{x['open_verdict']} | {x['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def mini_stage(ctx: Any, *, options: TraceOptions | None = None,
               photos: Sequence[np.ndarray] | None = None) -> dict[str, Any]:
    """``srprint study --preset mini`` stage: the trace table over the imported published models.

    Parameters
    ----------
    ctx : StudyContext
        The study's context (duck-typed): ``results["zoo"]["pretrained_zoo"]`` is the zoo of imported
        published checkpoints (None when the shared checkpoints are absent); ``tables_dir`` receives
        ``trace.json`` and ``trace.md``, rewritten after every image so a killed study keeps its numbers.
    options : TraceOptions, optional
        The protocol's knobs (default: the benchmark's, so the table matches ``bench/results/``).
    photos : sequence of ndarray, optional
        Test photos (default: Kodak24 of the shared data).

    Returns
    -------
    dict
        A JSON-serialisable summary: the table's files, the headline numbers and the targets met; or
        ``{"skipped": ...}`` when no published checkpoint was imported.

    Raises
    ------
    SrprintError
        If the published zoo holds nothing to trace or the Kodak24 photos are missing
        (see :func:`run_trace_protocol`).
    """
    from ..result_tables import write_table

    pretrained = (ctx.results.get("zoo") or {}).get("pretrained_zoo")
    if not pretrained:
        return {"skipped": "no published checkpoints imported"}

    def write(result: dict[str, Any]) -> tuple[Path, Path]:
        return write_table(ctx.tables_dir, "trace", result, trace_markdown(result))

    result = run_trace_protocol(zoo=Path(pretrained), options=options, photos=photos, on_image=write)
    json_path, md_path = write(result)
    n = max(result["images"], 1)
    jpeg90 = result["jpeg"].get(90)
    return {"table": str(json_path), "markdown": str(md_path), "zoo": str(pretrained),
            "images": result["images"], "models": result["models"], "top1_made_by": result["top1_made_by"],
            "argmin_right": result["argmin_right"], "open_false_attributions": result["open_false_attributions"],
            "auroc": None if math.isnan(result["auroc"]) else result["auroc"],
            "seconds_per_image_pruned": result["seconds_per_image_pruned"],
            "targets": {"top1_at_least_99pct": result["top1_made_by"] / n >= 0.99,
                        "no_open_false_attribution": result["open_false_attributions"] == 0,
                        "auroc_at_least_0.99": bool(result["auroc"] >= 0.99),
                        "seconds_per_image_at_most_60": result["seconds_per_image_pruned"] <= 60,
                        "jpeg90_at_least_95pct": None if not jpeg90 or not jpeg90["n"]
                        else jpeg90["made_by_right"] / jpeg90["n"] >= 0.95}}
