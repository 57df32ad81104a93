"""Render the labelled super-resolved dataset: every zoo model x every corpus photo, plus the real photos.

For each model and HR photo: optional deterministic centre crop ``N x N`` (rounded down to a
multiple of the model's scale), the shared degradation (antialiased bicubic downscale, quantised to
8 bits), the model, and an atomically written PNG ``<out>/<model_id>/<image_id>.png``. The HR crops
themselves are written as the class ``HR`` (``<out>/HR/<image_id>.png``, source ``real``) for
real-vs-generated detection.

Restoration models (``task != "sr"``): denoisers whose labels give their noise level (``sigma``,
``noise_sigma`` or ``noise_level``; values above 1 are on the 0-255 scale) render the HR photo plus
seeded Gaussian noise at that level (quantised); other tasks are skipped with a note.

Output folder layout::

    render.json             settings (corpus hash, crop, split seed) - a rerun with others is refused
    failures.json           models that failed, with their error (cleared when they succeed later)
    manifest.parquet        see :mod:`srprint.render.manifest` (rewritten from what is on disk)
    <model_id>/labels.json  the model's manifest labels (so the manifest can be rebuilt at any time)
    <model_id>/<image_id>.png

Splits are by source image (seeded permutation of the sorted image ids, default 80/10/10), the
same for every model. Reruns skip intact PNGs (PNG header, size and chunk CRCs checked), re-render
missing or corrupt ones, and render only models that are new to the folder.

This module is the driver (plan, executor, manifest, summary); one model's job is
:mod:`srprint.render.jobs`, the labels and splits are :mod:`srprint.render.labels`.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import config_hash, resolves_device, srprint_home
from ..errors import DatasetError, SrprintError
from ..execution import JobResult, get_executor
from ..io.atomic import atomic_write_json
from ..io.names import check_name
from ..io.outputs import check_inside
from ..progress import make_progress
from ..zoo.entry import Zoo
from . import jobs as render_jobs
from .corpus import Corpus, CorpusImage
from .jobs import RenderJob
from .labels import SIGMA_KEYS, assign_splits, denoise_sigma, model_labels, real_labels, select_entries
from .manifest import MANIFEST, REAL_CLASS, RenderedDataset, write_manifest

RENDER_RECORD = "render.json"
FAILURES_FILE = "failures.json"
LABELS_FILE = "labels.json"
RENDER_VERSION = 1


class RenderWarning(UserWarning):
    """A corpus image or model was skipped while rendering."""


@dataclass
class RenderConfig:
    """Settings that define a rendered dataset (all but ``batch_size`` key its folder)."""

    hr_crop: int | None = None
    split_seed: int = 0
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    noise_seed: int = 0
    batch_size: int = 8

    def key(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("batch_size")
        d["split_fractions"] = list(self.split_fractions)
        d["version"] = RENDER_VERSION
        return d


@dataclass
class RenderSummary:
    """What a render run did."""

    out: Path
    n_models: int
    n_source_images: int
    rendered: int = 0
    existing: int = 0
    seconds: float = 0.0
    infer_seconds: float = 0.0
    per_model: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    skipped_models: dict[str, str] = field(default_factory=dict)
    skipped_images: dict[str, str] = field(default_factory=dict)
    manifest_rows: int = 0

    @property
    def images_per_s(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["images_per_s"] = round(self.images_per_s, 2)
        return d

    def raise_if_failed(self) -> None:
        """Refuse a run in which a model failed (the others were rendered; a rerun retries the failed).

        Raises
        ------
        SrprintError
            If any model failed, naming them and ``failures.json``.
        """
        if self.failures:
            raise SrprintError(f"{len(self.failures)} of {self.n_models} models failed: "
                               f"{', '.join(self.failures)} (details in {self.out / FAILURES_FILE}); "
                               f"rerun to retry them")


def default_render_dir(zoo_root: str | Path, corpus: Corpus, cfg: RenderConfig) -> Path:
    """``$SRPRINT_HOME/renders/<zoo-name>-<corpus-name>-<config hash>``."""
    h = config_hash({"corpus": corpus.content_hash, **cfg.key()})
    return srprint_home() / "renders" / f"{Path(zoo_root).resolve().name}-{corpus.name}-{h}"


# ---------------------------------------------------------------------------------------------- driver

def _usable_images(corpus: Corpus, hr_crop: int | None) -> tuple[list[CorpusImage], dict[str, str]]:
    """Corpus images that can be rendered (size known, large enough for the crop)."""
    from PIL import Image

    usable, skipped = [], {}
    for im in corpus.images:
        w, h = im.width, im.height
        if not (w and h):
            try:
                with Image.open(corpus.path(im)) as pil:
                    w, h = pil.size
                    if pil.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF rotation: read_image transposes
                        w, h = h, w
            except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped with a warning
                skipped[im.image_id] = f"{corpus.path(im)}: unreadable image ({type(exc).__name__}: {exc})"
                continue
            im = CorpusImage(im.image_id, im.file, w, h, im.source, im.set)
        if hr_crop and min(w, h) < hr_crop:
            skipped[im.image_id] = f"{corpus.path(im)}: {w}x{h} is smaller than the {hr_crop}x{hr_crop} crop"
            continue
        if min(w, h) < 4:
            skipped[im.image_id] = f"{corpus.path(im)}: {w}x{h} is too small to render"
            continue
        usable.append(im)
    return usable, skipped


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return default


def rebuild_manifest(out: str | Path, splits: dict[str, str] | None = None,
                     failed: set[str] | None = None) -> int:
    """Rewrite ``manifest.parquet`` from the PNGs on disk (models with a ``labels.json``); returns rows.

    ``splits`` maps image id to split (default: from ``render.json``); models in ``failed`` (default:
    those in ``failures.json``) are left out until a rerun completes them.
    """
    from PIL import Image

    out = Path(out)
    if splits is None:
        splits = _read_json(out / RENDER_RECORD, {}).get("splits", {})
    if failed is None:
        failed = set(_read_json(out / FAILURES_FILE, {}))
    rows = []
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        labels = _read_json(d / LABELS_FILE, None)
        if not labels or d.name in failed:
            continue
        for image_id, split in splits.items():
            png = d / f"{image_id}.png"
            if not png.is_file():
                continue
            try:
                with Image.open(png) as pil:
                    w, h = pil.size
            except Exception:  # noqa: BLE001 - corrupt files are left out; a rerun re-renders them
                continue
            rows.append({**labels, "path": f"{d.name}/{png.name}", "image_id": image_id, "split": split,
                         "width": w, "height": h})
    write_manifest(out, rows)
    return len(rows)


@resolves_device
def render_dataset(
    zoo_root: str | Path,
    corpus_root: str | Path,
    out: str | Path | None = None,
    *, models: str | None = None,
    cfg: RenderConfig | None = None,
    device: str = "auto",
    executor: str = "local",
    jobs: int = 1,
    include_real: bool = True,
    manifest_every_s: float = 30.0,
    **executor_kwargs: Any,
) -> RenderSummary:
    """Render every selected zoo model on every corpus photo into ``out`` (see module docstring).

    Model failures are collected in the summary and ``failures.json`` (the other models continue);
    the caller decides how to exit.

    Raises
    ------
    DatasetError
        Missing zoo / corpus, a filter matching nothing, no usable corpus image, or ``out`` holding a
        dataset rendered with other settings.
    SrprintError
        Disk full / permission denied: rendering stops cleanly; rerunning resumes.
    """
    cfg = cfg or RenderConfig()
    if cfg.hr_crop is not None and cfg.hr_crop < 4:
        raise DatasetError(f"--hr-crop {cfg.hr_crop} is too small")
    dev = device
    corpus = Corpus.open(corpus_root)
    zoo = Zoo(zoo_root)
    entries = select_entries(zoo.entries(), models)
    clash = [e for e in entries if e.id == REAL_CLASS]
    if clash:
        raise DatasetError(f"{clash[0].path}: the model id {REAL_CLASS!r} is the class of the real photos in a "
                           "render; change the 'id' in its model.json")
    out = Path(out) if out else default_render_dir(zoo_root, corpus, cfg)

    images, skipped_images = _usable_images(corpus, cfg.hr_crop)
    for msg in skipped_images.values():
        warnings.warn(f"skipped {msg}", RenderWarning, stacklevel=2)
    if not images:
        raise DatasetError(f"no corpus image of {corpus.root} is usable (see warnings)")

    runnable, skipped_models = [], {}
    for e in entries:
        if e.task != "sr" and (e.task != "denoise" or denoise_sigma(e) is None):
            keys = "/".join(SIGMA_KEYS)
            why = (f"task {e.task!r}: no noise level in its labels ({keys})" if e.task == "denoise"
                   else f"task {e.task!r} has no render degradation yet")
            skipped_models[e.id] = why
            warnings.warn(f"model {e.id} skipped: {why}", RenderWarning, stacklevel=2)
        elif cfg.hr_crop and (cfg.hr_crop // e.scale) < 1:
            skipped_models[e.id] = f"--hr-crop {cfg.hr_crop} is smaller than its scale x{e.scale}"
        else:
            runnable.append(e)

    splits = assign_splits([im.image_id for im in images], cfg.split_seed, cfg.split_fractions)
    record = {"version": RENDER_VERSION, "config": cfg.key(), "corpus": str(corpus.root.resolve()),
              "corpus_name": corpus.name, "corpus_hash": corpus.content_hash,
              "zoo": str(Path(zoo_root).resolve()),
              "splits": splits}
    labels_by_id = {e.id: model_labels(e) for e in runnable}
    if include_real:
        labels_by_id[REAL_CLASS] = real_labels()
    for mid in labels_by_id:  # ids are checked names already; resolved paths are checked all the same
        check_inside(out, out / check_name(mid, what="model id") / LABELS_FILE)
    for im in images:
        check_inside(out, out / REAL_CLASS / f"{check_name(im.image_id, what='image id')}.png")
    try:
        out.mkdir(parents=True, exist_ok=True)
        old = _read_json(out / RENDER_RECORD, None)
        if old is not None:
            for key in ("config", "corpus_hash"):
                if old.get(key) != record[key]:
                    raise DatasetError(f"{out} was rendered with other settings ({key}: {old.get(key)} vs "
                                       f"{record[key]}); choose another --out")
            record["splits"] = old.get("splits", splits)  # keep the recorded splits stable
            splits = record["splits"]
        atomic_write_json(out / RENDER_RECORD, record)
        for mid, labels in labels_by_id.items():
            atomic_write_json(out / mid / LABELS_FILE, labels)
    except OSError as exc:
        raise SrprintError(f"cannot write to {out}: {exc.strerror or exc}") from exc

    img_tuple = tuple((im.image_id, im.file, im.width, im.height) for im in images)
    job_list = []
    if include_real:
        job_list.append(RenderJob(REAL_CLASS, "", str(corpus.root), img_tuple, str(out), cfg.hr_crop, dev,
                                  cfg.batch_size, cfg.noise_seed))
    job_list += [RenderJob(e.id, str(e.path), str(corpus.root), img_tuple, str(out), cfg.hr_crop, dev,
                           cfg.batch_size, cfg.noise_seed) for e in runnable]
    summary = RenderSummary(out, len(runnable), len(images), skipped_models=skipped_models,
                            skipped_images=skipped_images)
    failures: dict[str, Any] = _read_json(out / FAILURES_FILE, {})
    storage_error = None
    t0 = time.perf_counter()
    last_manifest = t0
    ex = get_executor(executor, jobs=jobs, **executor_kwargs)
    advanced: dict[str, int] = {}
    with make_progress("img") as prog:
        task = prog.add_task(f"rendering {len(job_list)} classes x {len(images)} images",
                             total=len(job_list) * len(images), rate="")
        live = {"rendered": 0}  # rendered by the running in-process job (not yet in the summary)

        def hook(model_id: str, n: int, rendered: bool) -> None:
            advanced[model_id] = advanced.get(model_id, 0) + n
            live["rendered"] += n if rendered else 0
            rate = (summary.rendered + live["rendered"]) / max(time.perf_counter() - t0, 1e-9)
            prog.update(task, advance=n, rate=f"{rate:.1f} img/s")

        render_jobs.progress_hook = hook
        try:
            results = ex.map(render_jobs.render_job, job_list)
            for r in results:
                _handle_result(r, summary, failures, skipped_images)
                live["rendered"] = 0
                done = (r.value["rendered"] + r.value["existing"]) if r.ok else len(images)
                prog.advance(task, max(0, done - advanced.get(r.job.model_id, 0)))
                elapsed = time.perf_counter() - t0
                prog.update(task, rate=f"{summary.rendered / max(elapsed, 1e-9):.1f} img/s")
                if r.ok and r.value.get("storage_error"):
                    storage_error = r.value["storage_error"]
                    break
                if time.perf_counter() - last_manifest > manifest_every_s:
                    rebuild_manifest(out, splits, set(failures))
                    last_manifest = time.perf_counter()
            if hasattr(results, "close"):
                results.close()
        finally:
            render_jobs.progress_hook = None
    summary.seconds = time.perf_counter() - t0
    for msg in {m for m in summary.skipped_images.values()} - set(skipped_images.values()):
        warnings.warn(f"skipped {msg}", RenderWarning, stacklevel=2)
    try:
        atomic_write_json(out / FAILURES_FILE, failures)
        summary.manifest_rows = rebuild_manifest(out, splits, set(failures))
    except OSError as exc:
        storage_error = storage_error or f"cannot write the manifest in {out}: {exc.strerror or exc}"
    summary.failures = {k: v["error"] for k, v in failures.items() if k in {j.model_id for j in job_list}}
    if storage_error:
        raise SrprintError(f"rendering stopped: {storage_error}; finished images are kept, fix the cause and "
                           f"rerun to resume")
    return summary


def _handle_result(r: JobResult, summary: RenderSummary, failures: dict[str, Any],
                   skipped_images: dict[str, str]) -> None:
    mid = r.job.model_id
    if not r.ok:
        failures[mid] = {"error": r.error, "traceback": r.traceback,
                         "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        summary.per_model.append({"model_id": mid, "error": r.error})
        return
    v = r.value
    failures.pop(mid, None)
    summary.rendered += v["rendered"]
    summary.existing += v["existing"]
    summary.infer_seconds += v["infer_seconds"]
    for image_id, msg in v["bad_images"].items():
        summary.skipped_images.setdefault(image_id, msg)
    summary.per_model.append({k: v[k] for k in ("model_id", "rendered", "existing", "infer_seconds",
                                                "load_seconds")}
                             | {"seconds": round(v.get("seconds", 0.0), 3)})


def render_info(out: str | Path) -> dict[str, Any]:
    """Summary of a rendered dataset: classes, images per split, labels, failures."""
    out = Path(out)
    ds = RenderedDataset.open(out)
    df = ds.frame
    record = _read_json(out / RENDER_RECORD, {})
    failures = _read_json(out / FAILURES_FILE, {})
    per_model = (df.groupby("model_id")
                 .agg(images=("path", "size"), arch=("arch", "first"), scale=("scale", "first"),
                      loss=("loss", "first"), source=("source", "first"))
                 .reset_index().to_dict("records"))
    per_model = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in per_model]
    return {
        "root": str(out), "manifest": str(out / MANIFEST), "n_images": int(len(df)),
        "n_classes": int(df["model_id"].nunique()),
        "n_models": int(df.loc[df["model_id"] != REAL_CLASS, "model_id"].nunique()),
        "n_source_images": int(df["image_id"].nunique()),
        "splits": {k: int(v) for k, v in df.drop_duplicates("image_id")["split"].value_counts().items()},
        "images_per_split": {k: int(v) for k, v in df["split"].value_counts().items()},
        "sources": {k: int(v) for k, v in df.drop_duplicates("model_id")["source"].value_counts().items()},
        "config": record.get("config", {}), "corpus": record.get("corpus"), "zoo": record.get("zoo"),
        "failures": {k: v.get("error") for k, v in failures.items()},
        "per_model": per_model,
    }
