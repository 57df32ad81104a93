"""PRNU-style baseline (Marra et al. 2019, "Do GANs leave artificial fingerprints?").

Noise residual ``r = x - denoise(x)`` of a centre crop; a model's fingerprint is the mean residual
over its training images; an image is attributed to the nearest fingerprint (Euclidean distance,
or normalised correlation with ``metric="ncc"``).

Denoisers (registry): ``wavelet`` (scikit-image ``denoise_wavelet``, default) and ``bm3d`` (the
``bm3d`` package: note its **non-commercial licence**; about 3 s per 256x256 image here).
Residuals are cached under ``$SRPRINT_HOME/cache/prnu`` keyed by file, size, mtime, denoiser and crop.

A PRNU run folder holds ``config.yaml`` (format, data, where, label, PRNUConfig), ``classes.json``,
``fingerprints.npy`` and ``metrics.json`` (``complete: true``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..classify.data import crop_array
from ..classify.run_folder import RunError
from ..config import dataclass_from_dict, srprint_home
from ..errors import DatasetError, SrprintError
from ..execution import get_executor
from ..io.arrays import read_json, read_npy
from ..io.atomic import atomic_save, atomic_write_json, atomic_write_text
from ..io.images import read_image
from ..progress import make_progress
from ..registries import Registry
from ..render.manifest import RenderedDataset
from .evaluate import attribution_tables, split_known, write_figures

PRNU_FORMAT = "srprint-prnu-run/1"
FINGERPRINTS_FILE = "fingerprints.npy"

Denoiser = Callable[[np.ndarray], np.ndarray]
DENOISERS: Registry[Denoiser] = Registry("denoiser")


def register_denoiser(name: str) -> Callable[[Denoiser], Denoiser]:
    """Decorator adding ``fn(image) -> denoised image`` to the PRNU denoisers under ``name``."""
    return DENOISERS.decorator(name, lambda fn: fn)


@register_denoiser("wavelet")
def wavelet_denoise(img: np.ndarray) -> np.ndarray:
    """scikit-image BayesShrink wavelet denoising (per channel, sigma estimated)."""
    from skimage.restoration import denoise_wavelet

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out = denoise_wavelet(img.astype(np.float64), channel_axis=-1, rescale_sigma=True)
    return np.where(np.isfinite(out), out, img).astype(np.float32)  # flat channels: sigma 0 gives NaN


@register_denoiser("bm3d")
def bm3d_denoise(img: np.ndarray, sigma: float = 0.02) -> np.ndarray:
    """BM3D (``bm3d`` package, non-commercial licence), per colour image with a fixed noise sigma.

    Raises
    ------
    SrprintError
        On: "the bm3d denoiser needs the bm3d package: pip install 'srprint[bm3d]'".
    """
    try:
        import bm3d
    except ImportError as exc:
        raise SrprintError("the bm3d denoiser needs the bm3d package: pip install 'srprint[bm3d]'") from exc
    return np.asarray(bm3d.bm3d_rgb(img.astype(np.float64), sigma), dtype=np.float32)


def list_denoisers() -> list[str]:
    return DENOISERS.names()


@dataclass
class PRNUConfig:
    denoiser: str = "wavelet"
    crop: int = 128
    metric: str = "euclidean"
    max_per_class: int | None = None
    seed: int = 0


def residual(img: np.ndarray, denoiser: str = "wavelet", crop: int = 128) -> np.ndarray:
    """Noise residual of the (reflect-padded) centre crop, ``(crop, crop, 3)`` float32."""
    denoise = DENOISERS.lookup(denoiser)
    x = crop_array(img, crop, None).astype(np.float32)
    return x - denoise(x)


def _cache_path(path: Path, denoiser: str, crop: int) -> Path:
    st = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{denoiser}|{crop}".encode()
    ).hexdigest()
    return srprint_home() / "cache" / "prnu" / key[:2] / f"{key[:24]}.npy"


def cached_residual(job: tuple[str, str, int]) -> np.ndarray:
    """Residual of one image file (``(path, denoiser, crop)``), read from / written to the cache."""
    path, denoiser, crop = Path(job[0]), job[1], int(job[2])
    cp = _cache_path(path, denoiser, crop)
    if cp.is_file():
        try:
            return np.load(cp, allow_pickle=False)
        except (OSError, ValueError):
            pass  # corrupt cache entry: recompute
    r = residual(read_image(path), denoiser, crop).astype(np.float32)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, r)

    atomic_save(cp, write)
    return r


def residuals(
    root: Path, frame: pd.DataFrame, cfg: PRNUConfig, *, executor: str = "local", jobs: int = 1
) -> np.ndarray:
    """Residuals ``[N, crop*crop*3]`` of every row (fan-out through the executor).

    Raises
    ------
    SrprintError
        On: "residual of … failed: …".
    """
    job_list = [(str(Path(root) / p), cfg.denoiser, cfg.crop) for p in frame["path"]]
    out: list[np.ndarray | None] = [None] * len(job_list)
    with make_progress() as prog:
        task = prog.add_task(f"PRNU residuals ({cfg.denoiser})", total=len(job_list))
        for res in get_executor(executor, jobs=jobs).map(cached_residual, job_list):
            if not res.ok:
                raise SrprintError(f"residual of {res.job[0]} failed: {res.error}")
            out[res.index] = res.value.reshape(-1)
            prog.advance(task)
    return np.stack(out)  # type: ignore[arg-type]


def _zscore(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(1, keepdims=True)
    return x / np.maximum(x.std(1, keepdims=True), 1e-12)


def prnu_scores(res: np.ndarray, fingerprints: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """``[N, C]`` scores (higher = closer): negative Euclidean distance or normalised correlation.

    Raises
    ------
    SrprintError
        On: "unknown PRNU metric …; use euclidean or ncc".
    """
    if metric == "euclidean":
        d2 = (res**2).sum(1)[:, None] - 2 * res @ fingerprints.T + (fingerprints**2).sum(1)[None]
        return -np.sqrt(np.maximum(d2, 0))
    if metric == "ncc":
        return _zscore(res) @ _zscore(fingerprints).T / res.shape[1]
    raise SrprintError(f"unknown PRNU metric {metric!r}; use euclidean or ncc")


def fit_prnu(data: str | Path, out: str | Path, cfg: PRNUConfig, *, label: str = "model_id",
             where: str | None = None, executor: str = "local", jobs: int = 1) -> Path:
    """Fingerprint of every class = mean residual over its training images (skips a complete run).

    Raises
    ------
    SrprintError
        On: "unknown PRNU metric …; use euclidean or ncc".
    DatasetError
        On: "no training images in …"; or "label column … not in the manifest".
    RunError
        On: "holds a different PRNU run; choose another --out"; or "is not empty and holds no run config.yaml;
        choose another --out".
    """
    out = Path(out)
    ds = RenderedDataset.open(data, where=where)
    if cfg.metric not in ("euclidean", "ncc"):
        raise SrprintError(f"unknown PRNU metric {cfg.metric!r}; use euclidean or ncc")
    DENOISERS.lookup(cfg.denoiser)  # refuse an unknown denoiser before any image is read
    if cfg.denoiser == "bm3d":
        warnings.warn(
            "bm3d is licensed for non-commercial use only, and slow (~3 s per 256x256 image)", stacklevel=2
        )
    train = ds.split("train")
    if train.empty:
        raise DatasetError(f"no training images in {ds.root}" + (f" matching {where!r}" if where else ""))
    if label not in train.columns:
        raise DatasetError(f"label column {label!r} not in the manifest")
    labels = train[label].astype(str)
    classes = sorted(labels.unique())
    if len(classes) < 2:
        raise DatasetError(
            f"the training data has a single {label} class ({classes[0]!r}); need at least two"
        )
    config = {
        "format": PRNU_FORMAT,
        "label": label,
        "data": str(Path(data).resolve()),
        "where": where,
        "prnu": dataclasses.asdict(cfg),
    }
    out.mkdir(parents=True, exist_ok=True)
    if (out / "config.yaml").is_file():
        if read_prnu_config(out) != json.loads(json.dumps(config)):
            raise RunError(f"{out} holds a different PRNU run; choose another --out")
        if _complete(out):
            return out
    elif any(out.iterdir()):
        raise RunError(f"{out} is not empty and holds no run config.yaml; choose another --out")
    atomic_write_text(out / "config.yaml", yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False))
    if cfg.max_per_class:
        train = pd.concat(
            [
                g.sample(n=min(cfg.max_per_class, len(g)), random_state=cfg.seed)
                for _, g in train.groupby(labels)
            ]
        ).sort_index()
        labels = train[label].astype(str)
    res = residuals(ds.root, train, cfg, executor=executor, jobs=jobs)
    fp = np.stack([res[(labels == c).to_numpy()].mean(0) for c in classes]).astype(np.float32)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, fp)

    atomic_save(out / FINGERPRINTS_FILE, write)
    atomic_write_json(out / "classes.json", classes)
    atomic_write_json(
        out / "metrics.json", {"complete": True, "n_train": len(train), "classes": len(classes)}
    )
    return out


def _complete(run: Path) -> bool:
    p = run / "metrics.json"
    try:
        return p.is_file() and bool(json.loads(p.read_text()).get("complete"))
    except json.JSONDecodeError:
        return False


def read_prnu_config(run: Path) -> dict[str, Any]:
    p = Path(run) / "config.yaml"
    if not p.is_file():
        raise RunError(f"{run} is not a PRNU run (no config.yaml)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RunError(f"{p}: corrupt config ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict) or data.get("format") != PRNU_FORMAT:
        raise RunError(
            f"{run}: not a PRNU run of this version (format {data.get('format') if isinstance(data, dict) else None!r})"
        )
    return data


def load_prnu(run: str | Path) -> tuple[PRNUConfig, dict[str, Any], list[str], np.ndarray]:
    run = Path(run)
    data = read_prnu_config(run)
    if not _complete(run) or not (run / FINGERPRINTS_FILE).is_file():
        raise RunError(f"{run}: PRNU fit is not finished; rerun `srprint prnu fit`")
    cfg = dataclass_from_dict(PRNUConfig, dict(data["prnu"]), where="config.yaml prnu")
    classes = read_json(run / "classes.json")
    prints = read_npy(run / FINGERPRINTS_FILE)
    if not isinstance(classes, list) or len(classes) != len(prints):
        raise RunError(f"{run}: classes.json and {FINGERPRINTS_FILE} disagree; rerun `srprint prnu fit`")
    return cfg, data, classes, prints


def evaluate_prnu(
    run: str | Path,
    split: str = "test",
    metric: str | None = None,
    *, executor: str = "local",
    jobs: int = 1,
    figures: bool = True,
) -> dict[str, Any]:
    """The same tables as the CNN (:func:`attribution_tables`) for a PRNU run; ``RUN/eval_<split>.json``.

    Raises
    ------
    DatasetError
        On: "no … images of the fitted classes in …".
    """
    run = Path(run)
    cfg, data, classes, fp = load_prnu(run)
    ds = RenderedDataset.open(data["data"], where=data.get("where"))
    known, _ = split_known(ds.split(split), classes, data["label"], holdout=None)
    if known.empty:
        raise DatasetError(f"no {split} images of the fitted classes in {ds.root}")
    m = metric or cfg.metric
    scores = prnu_scores(residuals(ds.root, known, cfg, executor=executor, jobs=jobs), fp, m)
    result = attribution_tables(known, classes, scores, label=data["label"])
    result.update({"run": str(run), "split": split, "method": f"prnu:{cfg.denoiser}:{m}"})
    if figures:
        result["figures"] = write_figures(run, split, known, classes=classes, scores=scores, features=None,
                                          label=data["label"], tables=result)
    atomic_write_json(run / f"eval_{split}.json", result)
    return result
