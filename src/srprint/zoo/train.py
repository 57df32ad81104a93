"""Grid trainer: trains one ``ModelSpec`` into a zoo folder, resumably and deterministically.

A run checkpoints ``train_state.pt`` (weights, optimiser, scheduler, discriminator, RNG state)
atomically every ``ckpt_every`` iterations. Re-running a killed job resumes from it; the final
weights equal those of an uninterrupted run because each batch depends only on (seed, iteration)
and the RNG state is restored. A finished model (``model.json`` with status ``complete``) is skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import config_hash
from ..errors import CheckpointError, SrprintError
from ..io.atomic import atomic_save, atomic_write_json
from ..io.checkpoints import save_weights
from .archs import arch_config, count_parameters, create_arch
from .entry import Zoo, ZooEntry, labels_for_spec, library_versions, recover_killed_writes, write_entry_folder
from .losses import LossConfig, create_loss
from .model import SRModel
from .quality import evaluate_sr
from .specs import ModelSpec
from .training_sets import TrainingSet, eval_images, load_training_set, sample_batch

STATE_FILE = "train_state.pt"
ProgressFn = Callable[[int, int, dict[str, float]], None]


@dataclass
class TrainConfig:
    """Training settings shared by every model of a grid (part of each model's cache key)."""

    iters: int = 400
    batch_size: int = 8
    hr_patch: int = 48  # HR crop side (same pixels per batch at every scale; CPU-friendly)
    lr_patch: int | None = None  # if set, HR crop = lr_patch * scale instead (paper: 48)
    lr: float = 5e-4
    ckpt_every: int = 100
    gan_warmup: float = 0.25  # fraction of iterations trained with L1 alone before the GAN starts (ESRGAN-style)
    precision: str = "fp32"  # "fp32" | "bf16" (autocast)
    eval_set: str = "set5"
    loss: LossConfig = field(default_factory=lambda: LossConfig(vgg_layer="conv2_2", disc_base=32))
    datasets: dict[str, str] = field(default_factory=dict)

    def hr_crop(self, scale: int) -> int:
        return self.lr_patch * scale if self.lr_patch else self.hr_patch

    def key(self) -> str:
        d = dataclasses.asdict(self)
        d.pop("ckpt_every")  # checkpoint frequency does not change the result
        return config_hash(d)


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state()}


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])


@contextlib.contextmanager
def _exclusive(folder: Path, model_id: str):  # noqa: ANN202
    """One trainer per model: a second process (local pool, Ray, another shell) is refused, not raced."""
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".train.lock"
    try:
        with open(lock, "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                created = False  # the other trainer owns the folder
                raise SrprintError(f"{model_id} is being trained by another process ({folder})") from exc
            yield
    except BaseException:
        # a model that failed before its first checkpoint leaves no folder holding only a lock file
        if created and [p.name for p in folder.iterdir()] == [lock.name]:
            lock.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def train_model(
    spec: ModelSpec,
    zoo_root: str | Path,
    cfg: TrainConfig,
    *, device: str = "cpu",
    progress: ProgressFn | None = None,
    stop_after: int | None = None,
) -> ZooEntry:
    """Train ``spec`` into ``zoo_root/<id>/``; skip if complete, resume if checkpointed.

    Parameters
    ----------
    spec : ModelSpec
    zoo_root : path
        The zoo folder.
    cfg : TrainConfig
    device : str
        Torch device.
    progress : callable, optional
        Called as ``progress(iteration, total, losses)``.
    stop_after : int, optional
        Stop (with a checkpoint) after this many iterations; for tests of resumption.

    Returns
    -------
    ZooEntry
        The complete record (or the partial one when ``stop_after`` stopped early).

    Raises
    ------
    SrprintError
        On: "already holds a …-size …; use another zoo for size …".
    """
    zoo = Zoo(zoo_root)
    folder = zoo.entry_dir(spec.id)
    recover_killed_writes(folder)  # a kill during the final write leaves the training folder aside
    if zoo.has(spec.id):
        entry = ZooEntry.load(folder)
        if entry.status == "complete":
            if entry.spec and entry.spec.get("size") != spec.size:
                raise SrprintError(f"{folder}: already holds a {entry.spec.get('size')}-size {spec.id}; "
                                   f"use another zoo for size {spec.size}")
            return entry
    ts = load_training_set(spec.dataset, cfg.hr_crop(spec.scale), cfg.datasets)
    # the folder is created only once the inputs are known to be usable
    with _exclusive(folder, spec.id):
        return _train_locked(spec, folder, ts, cfg, device, progress, stop_after)


def _train_locked(
    spec: ModelSpec, folder: Path, ts: TrainingSet, cfg: TrainConfig, device: str, progress: ProgressFn | None,
    stop_after: int | None,
) -> ZooEntry:
    if Zoo(folder.parent).has(spec.id):  # finished by another process while we waited
        return ZooEntry.load(folder)
    key = cfg.key()

    torch.manual_seed(spec.seed)
    a_cfg = arch_config(spec.arch, spec.size)
    net = create_arch(spec.arch, spec.scale, config=a_cfg).to(device)
    loss_fn = create_loss(spec.loss, cfg.loss).to(device)
    if loss_fn.adversarial:  # optimiser state must live on the same device
        loss_fn.disc_opt = torch.optim.Adam(loss_fn.disc.parameters(), lr=cfg.loss.disc_lr, betas=(0.9, 0.99))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    milestones = [int(cfg.iters * 0.5), int(cfg.iters * 0.75)]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.5)
    start, elapsed, history = 0, 0.0, []

    state_path = folder / STATE_FILE
    if state_path.exists():
        try:
            st = torch.load(str(state_path), map_location=device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is reported the same way
            raise CheckpointError(f"{state_path}: corrupt checkpoint ({exc}); delete it to restart this model") from exc
        if st.get("spec_id") != spec.id or st.get("config_key") != key:
            raise CheckpointError(f"{state_path}: checkpoint was made with a different config; delete it to restart")
        net.load_state_dict(st["net"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        if loss_fn.adversarial:
            loss_fn.load_extra_state(st["loss"])  # type: ignore[attr-defined]
        _set_rng_state(st["rng"])
        start, elapsed = int(st["iteration"]), float(st["elapsed"])
        history = [dict(h) for h in st.get("history", [])]

    def checkpoint(iteration: int) -> None:
        st = {"spec_id": spec.id, "config_key": key, "iteration": iteration, "elapsed": elapsed,
              "net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "rng": _rng_state(),
              "history": history}
        if loss_fn.adversarial:
            st["loss"] = loss_fn.extra_state()  # type: ignore[attr-defined]
        atomic_save(state_path, lambda tmp: torch.save(st, str(tmp)))
        atomic_write_json(folder / "progress.json", {"id": spec.id, "iteration": iteration, "iters": cfg.iters})

    warmup = int(math.ceil(cfg.gan_warmup * cfg.iters)) if loss_fn.adversarial else cfg.iters
    autocast = cfg.precision == "bf16"
    dev_type = "cuda" if str(device).startswith("cuda") else "cpu"
    net.train()
    t0 = time.perf_counter()
    i = start
    for i in range(start, cfg.iters):
        lr_img, hr_img = sample_batch(ts, spec.scale, cfg.hr_crop(spec.scale), batch_size=cfg.batch_size,
                                      seed=spec.seed, iteration=i)
        lr_img, hr_img = lr_img.to(device), hr_img.to(device)
        with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=autocast):
            sr = net(lr_img)
            if loss_fn.adversarial and i >= warmup:
                loss, parts = loss_fn.generator_loss(sr.float(), hr_img)
            else:
                loss = torch.nn.functional.l1_loss(sr.float(), hr_img)
                parts = {"l1": loss.item()}
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if loss_fn.adversarial and i >= warmup:
            with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=autocast):
                parts["disc"] = loss_fn.discriminator_step(sr.float(), hr_img)  # type: ignore[attr-defined]
        if i % max(1, cfg.iters // 50) == 0:
            history.append({"iter": i, **{k: round(v, 6) for k, v in parts.items()}})
        if progress:
            progress(i + 1, cfg.iters, parts)
        done = i + 1
        if done % cfg.ckpt_every == 0 or (stop_after is not None and done >= stop_after):
            elapsed += time.perf_counter() - t0
            t0 = time.perf_counter()
            if done < cfg.iters:
                checkpoint(done)
            if stop_after is not None and done >= stop_after and done < cfg.iters:
                return ZooEntry(id=spec.id, source="trained", arch=spec.arch, scale=spec.scale, status="training",
                                iterations=done, path=folder)
    elapsed += time.perf_counter() - t0
    n_done = cfg.iters - start

    net.eval()
    model = SRModel(net, spec.scale, name=spec.id)
    t_eval = time.perf_counter()
    metrics = evaluate_sr(model, eval_images(cfg.eval_set), device=device)
    metrics["eval_set"] = cfg.eval_set
    metrics.pop("per_image", None)
    entry = ZooEntry(
        id=spec.id, source="trained", arch=spec.arch, scale=spec.scale, task="sr", arch_config=a_cfg,
        spec=spec.to_dict(), labels=labels_for_spec(spec), status="complete", iterations=cfg.iters,
        train={**dataclasses.asdict(cfg), "config_key": key, "training_set": ts.describe(),
               "perceptual_weights": loss_fn.provenance, "n_params": count_parameters(net),
               "loss_history": history},
        metrics=metrics,
        timings={"train_seconds": round(elapsed, 2), "it_per_s": round(n_done / elapsed, 3) if elapsed else None,
                 "eval_seconds": round(time.perf_counter() - t_eval, 2), "device": str(device),
                 "threads": torch.get_num_threads()},
        versions=library_versions(),
        path=folder,
    )
    # the finished entry replaces the training folder in one rename: its checkpoint, progress file
    # and lock go with the old folder, and a kill before the rename leaves the checkpoint to resume
    weights = net.state_dict()
    return write_entry_folder(folder, entry, lambda path: save_weights(
        path, weights, metadata={"id": spec.id, "arch": spec.arch}))
