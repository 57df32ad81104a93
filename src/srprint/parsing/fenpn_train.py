"""Training, run folders and prediction of the FEN + PN model (the network is :mod:`.pn`)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DatasetError, SrprintError
from ..io.atomic import atomic_save, atomic_write_json
from ..progress import make_progress
from ..render.manifest import REAL_CLASS
from .fen import FEN, fingerprint_losses
from .pn import (
    RUN_FILE,
    STATE,
    WEIGHTS,
    FenPnConfig,
    LabelledCropDataset,
    ParsingLoss,
    ParsingNetwork,
    _image_labels,
    _limit_per_model,
    class_weights,
    shuffle_labels,
)
from .schema import HyperparamSchema


# ---------------------------------------------------------------------------------------------- training
def fingerprint_spectrum(fp: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Centred log-magnitude 2-D spectrum of ``(B, C, H, W)``, standardised per image."""
    spec = torch.fft.fftshift(torch.fft.fft2(fp, norm="ortho"), dim=(-2, -1)).abs()
    s = torch.log(spec + eps)
    return (s - s.mean(dim=(1, 2, 3), keepdim=True)) / (s.std(dim=(1, 2, 3), keepdim=True) + 1e-6)


class FenPn(nn.Module):
    def __init__(self, schema: HyperparamSchema, cfg: FenPnConfig, n_models: int) -> None:
        super().__init__()
        self.fen = FEN(cfg.fen_depth, cfg.fen_width)
        self.pn = ParsingNetwork(schema, cfg.pn_width, cfg.feat_dim, n_models if cfg.attribution else 0, cfg.detection)
        self.pn_input = cfg.pn_input

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        fp = self.fen(x)
        return fp, self.pn(fingerprint_spectrum(fp) if self.pn_input == "spectrum" else fp)


def _batch_losses(
    model: FenPn, crit: ParsingLoss, batch: dict[str, torch.Tensor], cfg: FenPnConfig
) -> dict[str, torch.Tensor]:
    fp, out = model(batch["image"])
    total = fp.new_zeros(())
    parts: dict[str, torch.Tensor] = {}
    gen = batch["labelled"] > 0.5
    if cfg.fingerprint_losses:
        fl = fingerprint_losses(fp, cfg.window, cfg.loss_scale)
        parts["fingerprint"] = fl.total(cfg.lambdas)
        total = total + parts["fingerprint"]
    if gen.any():
        sub_out = _select(out, gen)
        sub_batch = {k: v[gen] for k, v in batch.items()}
        pl = crit(sub_out, sub_batch)
        parts["parsing"] = pl["total"]
        total = total + pl["total"]
        if out["attribution"] is not None:
            a = sub_batch["attr"]
            ok = a >= 0
            if ok.any():
                parts["attribution"] = F.cross_entropy(sub_out["attribution"][ok], a[ok])
                total = total + parts["attribution"]
    if out["detection"] is not None:
        parts["detection"] = F.binary_cross_entropy_with_logits(out["detection"], batch["generated"])
        total = total + parts["detection"]
    parts["total"] = total
    return parts


def _select(out: dict[str, Any], mask: torch.Tensor) -> dict[str, Any]:
    res: dict[str, Any] = {}
    for k, v in out.items():
        if isinstance(v, dict):
            res[k] = {n: t[mask] for n, t in v.items()}
        elif v is None:
            res[k] = None
        else:
            res[k] = v[mask]
    return res


def train_fen_pn(
    root: str | Path,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    *, schema: HyperparamSchema,
    train_models: list[str],
    out: str | Path,
    cfg: FenPnConfig | None = None,
    device: str = "cpu",
    label_shuffle_seed: int | None = None,
    quiet: bool = False,
) -> Path:
    """Train FEN+PN on the train-split images of ``train_models`` (plus real ``HR`` images).

    Parameters
    ----------
    frame : DataFrame
        Rendered manifest rows (any split; the ``train`` split is used).
    table : DataFrame
        One row per model with the schema's target columns (see :func:`zoo_label_table`).
    schema : HyperparamSchema
        Fitted schema (classes, ranges).
    label_shuffle_seed : int, optional
        Random-ground-truth baseline: shuffle the labels among the training models with this seed.

    Returns the run folder; finished runs are returned at once, killed ones resume per epoch.

    Raises
    ------
    DatasetError
        On: "FEN+PN training: no training models"; or "FEN+PN training: no train-split images for the training
        models".
    """
    cfg = cfg or FenPnConfig()
    root, out = Path(root), Path(out)
    wanted = _run_identity(cfg, train_models, label_shuffle_seed)
    if (out / RUN_FILE).is_file():
        record = json.loads((out / RUN_FILE).read_text())
        _refuse_other_run(out, wanted, _run_identity(FenPnConfig.from_dict(record["config"]),
                                                     record["train_models"], record.get("label_shuffle_seed")))
        return out
    if not train_models:
        raise DatasetError("FEN+PN training: no training models")
    if label_shuffle_seed is not None:
        table = shuffle_labels(table, train_models, label_shuffle_seed, key=schema.key)
    rows = frame[
        (frame["split"] == "train")
        & (frame["model_id"].isin(train_models) | ((frame["model_id"] == REAL_CLASS) & cfg.detection))
    ]
    rows = _limit_per_model(rows, cfg.max_per_model, cfg.seed)
    if rows.empty:
        raise DatasetError("FEN+PN training: no train-split images for the training models")
    attr_classes = sorted(train_models)
    labels = _image_labels(rows, table, schema, attr_classes)
    torch.manual_seed(cfg.seed)
    model = FenPn(schema, cfg, len(attr_classes)).to(device)
    gen_mask = labels["labelled"] > 0.5
    weights = {
        t.name: class_weights(labels[f"d:{t.name}"][gen_mask], len(t.classes)).to(device) for t in schema.discrete
    }
    cweights = {
        t.name: class_weights(labels[f"c:{t.name}"][gen_mask], len(t.hierarchy)).to(device)
        for t in schema.discrete
        if t.hierarchy
    }
    crit = ParsingLoss(schema, weights, cweights, cfg.gammas)
    opt = torch.optim.Adam(
        [
            {"params": model.fen.parameters(), "lr": cfg.lr_fen},
            {"params": model.pn.parameters(), "lr": cfg.lr_pn},
        ]
    )
    start, history = 0, []
    state_path = out / STATE
    if state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=True)
        if "identity" in state:
            _refuse_other_run(out, wanted, json.loads(state["identity"]))
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, history = int(state["epoch"]), json.loads(state["history"])
    ds = LabelledCropDataset(root, rows, cfg.crop, labels, train=True, seed=cfg.seed)
    with make_progress() as prog:
        task = prog.add_task("FEN+PN", total=cfg.epochs, completed=start, visible=not quiet)
        for epoch in range(start, cfg.epochs):
            ds.epoch = epoch
            gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
            loader = torch.utils.data.DataLoader(
                ds, batch_size=cfg.batch_size, shuffle=True, generator=gen, drop_last=len(ds) > cfg.batch_size
            )
            model.train()
            sums: dict[str, float] = {}
            n = 0
            for batch in loader:
                batch = {k: v.to(device) for k, v in batch.items()}
                parts = _batch_losses(model, crit, batch, cfg)
                opt.zero_grad()
                parts["total"].backward()
                opt.step()
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
                n += 1
            history.append({"epoch": epoch + 1, **{k: v / max(1, n) for k, v in sums.items()}})
            out.mkdir(parents=True, exist_ok=True)
            snapshot = {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch + 1,
                "history": json.dumps(history),
                "identity": json.dumps(wanted),
            }
            atomic_save(state_path, lambda tmp, s=snapshot: torch.save(s, tmp))
            prog.advance(task)
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_save(out / WEIGHTS, lambda tmp: save_file(tensors, str(tmp)))
    record = {
        "version": 1,
        "config": dataclasses.asdict(cfg),
        "schema": schema.to_dict(),
        "train_models": sorted(train_models),
        "attribution_classes": attr_classes,
        "label_shuffle_seed": label_shuffle_seed,
        "history": history,
        "n_train_images": len(rows),
    }
    atomic_write_json(out / RUN_FILE, record)
    state_path.unlink(missing_ok=True)
    return out


def _run_identity(cfg: FenPnConfig, train_models: list[str], label_shuffle_seed: int | None) -> dict[str, Any]:
    """What a run folder was trained with (compared before a finished run is reused or a killed one resumed)."""
    return json.loads(json.dumps({"config": dataclasses.asdict(cfg), "train_models": sorted(train_models),
                                  "label_shuffle_seed": label_shuffle_seed}))


def _refuse_other_run(out: Path, wanted: dict[str, Any], found: dict[str, Any]) -> None:
    if wanted == found:
        return
    diff = [f"config.{k}" for k in wanted["config"] if wanted["config"][k] != found["config"].get(k)]
    diff += [k for k in ("train_models", "label_shuffle_seed") if wanted[k] != found[k]]
    raise SrprintError(f"{out} holds a FEN+PN run with other settings ({', '.join(diff)} differ); "
                       "use another --out, or delete it to retrain")


@dataclass
class FenPnRun:
    path: Path
    model: FenPn
    schema: HyperparamSchema
    cfg: FenPnConfig
    attribution_classes: list[str]
    record: dict[str, Any]


def load_fen_pn(run: str | Path, device: str = "cpu") -> FenPnRun:
    """Load a finished FEN+PN run folder (clear error for missing / half-written / foreign folders).

    Raises
    ------
    SrprintError
        On: "not a finished FEN+PN run (no …): …"; or "corrupt or foreign run record (…)".
    """
    run = Path(run)
    rec_path = run / RUN_FILE
    if not rec_path.is_file():
        hint = " (training unfinished: rerun fen train to resume)" if (run / STATE).is_file() else ""
        raise SrprintError(f"not a finished FEN+PN run (no {RUN_FILE}): {run}{hint}")
    try:
        rec = json.loads(rec_path.read_text())
        cfg = FenPnConfig.from_dict(rec["config"])
        schema = HyperparamSchema.from_dict(rec["schema"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise SrprintError(f"{rec_path}: corrupt or foreign run record ({exc})") from exc
    if rec.get("version") != 1:
        raise SrprintError(f"{rec_path}: run version {rec.get('version')} is not supported")
    from ..io.checkpoints import load_weights

    model = FenPn(schema, cfg, len(rec["attribution_classes"]))
    try:
        model.load_state_dict(load_weights(run / WEIGHTS))
    except RuntimeError as exc:
        raise SrprintError(
            f"{run / WEIGHTS}: weights do not match the run record ({str(exc).splitlines()[0]})"
        ) from exc
    return FenPnRun(run, model.to(device).eval(), schema, cfg, list(rec["attribution_classes"]), rec)


@dataclass
class FenPnPredictions:
    """Per-image outputs of a FEN+PN run (rows follow ``frame``)."""

    frame: pd.DataFrame
    continuous: np.ndarray  # (N, K) normalised
    discrete: dict[str, np.ndarray]  # target -> (N, C) probabilities
    coarse: dict[str, np.ndarray]  # hierarchical target -> (N, G)
    multilabel: dict[str, np.ndarray]  # target -> (N, F) probabilities
    detection: np.ndarray | None  # (N,) probability of "generated"
    attribution: np.ndarray | None  # (N, M)
    fingerprints: dict[str, np.ndarray]  # model id -> mean fingerprint (3, crop, crop)


@torch.no_grad()
def predict_fen_pn(
    run: FenPnRun | str | Path,
    root: str | Path,
    frame: pd.DataFrame,
    *, device: str = "cpu",
    batch_size: int = 32,
    quiet: bool = True,
) -> FenPnPredictions:
    """Centre-crop every image of ``frame`` and run FEN+PN; mean fingerprints per model."""
    if not isinstance(run, FenPnRun):
        run = load_fen_pn(run, device)
    frame = frame.reset_index(drop=True)
    ds = LabelledCropDataset(Path(root), frame, run.cfg.crop, {}, train=False)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False)
    schema = run.schema
    cont, det, attr = [], [], []
    disc: dict[str, list[np.ndarray]] = {t.name: [] for t in schema.discrete}
    multi: dict[str, list[np.ndarray]] = {t.name: [] for t in schema.multilabel}
    coarse: dict[str, list[np.ndarray]] = {t.name: [] for t in schema.targets if t.hierarchy}
    fp_sum: dict[str, np.ndarray] = {}
    fp_n: dict[str, int] = {}
    ids = frame["model_id"].to_numpy()
    with make_progress() as prog:
        task = prog.add_task("FEN+PN predict", total=len(ds), visible=not quiet)
        for batch in loader:
            x = batch["image"].to(device)
            fp, out = run.model(x)
            if out["continuous"] is not None:
                cont.append(out["continuous"].cpu().numpy())
            for name in disc:
                disc[name].append(out["discrete"][name].cpu().numpy())
            for name in multi:
                multi[name].append(out["multilabel"][name].cpu().numpy())
            for name in coarse:
                coarse[name].append(out["coarse"][name].cpu().numpy())
            if out["detection"] is not None:
                det.append(torch.sigmoid(out["detection"]).cpu().numpy())
            if out["attribution"] is not None:
                attr.append(torch.softmax(out["attribution"], 1).cpu().numpy())
            fps = fp.cpu().numpy().astype(np.float64)
            for j, i in enumerate(batch["index"].tolist()):
                m = ids[i]
                fp_sum[m] = fp_sum.get(m, 0.0) + fps[j]
                fp_n[m] = fp_n.get(m, 0) + 1
            prog.advance(task, len(x))
    n = len(frame)
    cat = lambda parts, width: np.concatenate(parts) if parts else np.zeros((n, width), np.float32)  # noqa: E731
    return FenPnPredictions(
        frame=frame,
        continuous=cat(cont, len(schema.continuous)),
        discrete={k: np.concatenate(v) for k, v in disc.items()},
        coarse={k: np.concatenate(v) for k, v in coarse.items()},
        multilabel={k: np.concatenate(v) for k, v in multi.items()},
        detection=np.concatenate(det) if det else None,
        attribution=np.concatenate(attr) if attr else None,
        fingerprints={m: (fp_sum[m] / fp_n[m]).astype(np.float32) for m in sorted(fp_sum)},
    )


