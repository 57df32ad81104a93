"""Parsing Network (PN) of Asnani et al., trained end to end with the FEN, plus its evaluation.

* Shared encoder: 5 conv blocks (stride-2 conv, BN, ReLU) + global pooling + 2 FC layers -> 512-d.
* Heads, built from a :class:`~srprint.parsing.schema.HyperparamSchema`:
  a regression head for the continuous targets (min-max normalised, L2 loss); one classifier per
  discrete target (cross-entropy weighted ``N / N_c``); hierarchical heads for targets with a
  coarse -> fine grouping (fine probability = coarse probability x within-group probability);
  sigmoid heads for multi-label targets (hierarchical the same way).
* Two extra heads on the same features, as in the paper: real-vs-generated detection (the
  render's ``HR`` class vs everything else) and attribution (which training model).
* Loss: ``FEN losses (lambda) + gamma_1 * regression + gamma_2 * discrete + gamma_3 * hierarchical``
  (``gamma = (5, 5, 5)``) + detection + attribution; Adam, lr 1e-4 (FEN) / 1e-3 (PN).

Baselines: ``nofp`` (same network, fingerprint losses off) and ``randomgt`` (labels shuffled across
the training models, keeping the label distribution; averaged over 3 shuffles). Evaluation is
leave-models-out cross-validation, with predictions aggregated over 1 / 10 / 100 images of a model.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..dataset import REAL_CLASS
from ..errors import DatasetError, SrprintError
from ..io.atomic import atomic_save, atomic_write_json
from ..progress import make_progress
from . import metrics as M
from .fen import DEFAULT_LAMBDAS, FEN, LOSS_SCALES, default_k, fingerprint_losses
from .schema import HyperparamSchema, SchemaError, Target

RUN_FILE = "fenpn.json"
WEIGHTS = "fenpn.safetensors"
STATE = "state.pt"
VARIANTS = ("fen", "nofp", "randomgt")
PN_INPUTS = ("fingerprint", "spectrum")


@dataclass
class FenPnConfig:
    """Settings of one FEN+PN training (paper values where the paper gives one; sizes CPU-friendly)."""

    crop: int = 64
    fen_depth: int = 15
    fen_width: int = 64
    pn_width: int = 32
    feat_dim: int = 512
    batch_size: int = 16
    epochs: int = 10
    lr_fen: float = 1e-4
    lr_pn: float = 1e-3
    lambdas: tuple[float, float, float, float] = DEFAULT_LAMBDAS
    gammas: tuple[float, float, float] = (5.0, 5.0, 5.0)
    k: int | None = None  # low-frequency window (None: scaled from the paper's 50 @ 128 px)
    fingerprint_losses: bool = True  # False: the "no fingerprint" baseline
    detection: bool = True
    attribution: bool = True
    max_per_model: int | None = None  # training images per model (None: all)
    seed: int = 0
    # what the PN sees: the fingerprint itself (paper) or its standardised log-magnitude spectrum
    # (the representation that made our from-scratch classifiers learn, see attribution.inputs).
    # One fold of the mini render, CPU profile, 4 epochs, 1 image: spectrum vs fingerprint raised
    # scale accuracy 77 -> 93 % and detection AUC 0.46 -> 0.72, discrete F1 0.42 -> 0.45, L1 0.311 -> 0.317;
    # with the spectrum the "no fingerprint" baseline matched FEN (F1 0.45 vs 0.45): not the default
    pn_input: str = "fingerprint"
    # how the fingerprint losses are scaled (fen.LOSS_SCALES). One fold of the mini render, CPU profile,
    # 6 epochs, 1 / 100 images: "dft" (the authors' code) vs "pixel": L1 0.299 -> 0.266 / 0.293 -> 0.263,
    # discrete F1 0.42 -> 0.40 / 0.40 -> 0.39, fine-loss F1 0.65 -> 0.60 / 0.76 -> 0.58, detection AUC
    # 0.53 -> 0.58; the repetitive term runs away (fingerprint loss -117). Not the default.
    loss_scale: str = "pixel"

    def __post_init__(self) -> None:
        if self.pn_input not in PN_INPUTS:
            raise SrprintError(f"FEN+PN config: pn_input must be one of {', '.join(PN_INPUTS)}; got {self.pn_input!r}")
        if self.loss_scale not in LOSS_SCALES:
            raise SrprintError(
                f"FEN+PN config: loss_scale must be one of {', '.join(LOSS_SCALES)}; got {self.loss_scale!r}"
            )

    @property
    def window(self) -> int:
        return self.k or default_k(self.crop)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FenPnConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SrprintError(f"FEN+PN config: unknown key(s) {', '.join(unknown)}")
        d = dict(data)
        for key in ("lambdas", "gammas"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


# ---------------------------------------------------------------------------------------------- heads
def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Weighted-CE class weights ``N / N_c`` (0 for classes absent from ``labels``)."""
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, len(labels) / np.maximum(counts, 1), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def group_indices(target: Target) -> list[list[int]]:
    """Fine class indices of each coarse group of a hierarchical target."""
    return [[target.classes.index(c) for c in members] for members in target.hierarchy.values()]


def hierarchical_probs(
    coarse_logits: torch.Tensor, fine_logits: torch.Tensor, groups: list[list[int]], multilabel: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Coarse and fine probabilities of a hierarchical head.

    Single-label: ``p(coarse) = softmax``; ``p(fine c) = p(group of c) * softmax within the group``
    (fine probabilities sum to one). Multi-label: sigmoids, ``p(fine c) = p(group) * sigmoid(c)``.
    """
    if multilabel:
        coarse = torch.sigmoid(coarse_logits)
        within = torch.sigmoid(fine_logits)
    else:
        coarse = torch.softmax(coarse_logits, dim=1)
        within = torch.zeros_like(fine_logits)
        for idx in groups:
            within[:, idx] = torch.softmax(fine_logits[:, idx], dim=1)
    gather = torch.zeros(fine_logits.shape[1], dtype=torch.long, device=fine_logits.device)
    for g, idx in enumerate(groups):
        gather[idx] = g
    return coarse, coarse[:, gather] * within


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class ParsingNetwork(nn.Module):
    """Shared encoder + one head per target kind (see module docstring)."""

    def __init__(
        self,
        schema: HyperparamSchema,
        width: int = 32,
        feat_dim: int = 512,
        n_models: int = 0,
        detection: bool = True,
    ) -> None:
        super().__init__()
        chans = [3] + [min(width * 2**i, 8 * width) for i in range(5)]
        self.encoder = nn.Sequential(
            *[_block(chans[i], chans[i + 1]) for i in range(5)],
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(chans[-1], feat_dim),
            nn.ReLU(inplace=True),
            nn.Linear(feat_dim, feat_dim),
            nn.ReLU(inplace=True),
        )
        self.schema = schema
        self.regression = nn.Linear(feat_dim, len(schema.continuous)) if schema.continuous else None
        self.discrete = nn.ModuleDict({t.name: nn.Linear(feat_dim, len(t.classes)) for t in schema.discrete})
        self.multilabel = nn.ModuleDict({t.name: nn.Linear(feat_dim, len(t.classes)) for t in schema.multilabel})
        self.coarse = nn.ModuleDict(
            {t.name: nn.Linear(feat_dim, len(t.hierarchy)) for t in schema.targets if t.hierarchy}
        )
        self.detection = nn.Linear(feat_dim, 1) if detection else None
        self.attribution = nn.Linear(feat_dim, n_models) if n_models > 1 else None

    def forward(self, fingerprint: torch.Tensor) -> dict[str, Any]:
        feat = self.encoder(fingerprint)
        out: dict[str, Any] = {"features": feat, "discrete": {}, "multilabel": {}, "coarse": {}}
        out["continuous"] = self.regression(feat) if self.regression is not None else None
        for t in self.schema.discrete:
            logits = self.discrete[t.name](feat)
            if t.hierarchy:
                coarse, fine = hierarchical_probs(self.coarse[t.name](feat), logits, group_indices(t))
                out["coarse"][t.name], out["discrete"][t.name] = coarse, fine
            else:
                out["discrete"][t.name] = torch.softmax(logits, dim=1)
        for t in self.schema.multilabel:
            logits = self.multilabel[t.name](feat)
            if t.hierarchy:
                coarse, fine = hierarchical_probs(self.coarse[t.name](feat), logits, group_indices(t), True)
                out["coarse"][t.name], out["multilabel"][t.name] = coarse, fine
            else:
                out["multilabel"][t.name] = torch.sigmoid(logits)
        out["detection"] = self.detection(feat)[:, 0] if self.detection is not None else None
        out["attribution"] = self.attribution(feat) if self.attribution is not None else None
        return out


def _nll(probs: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    return F.nll_loss(torch.log(probs.clamp_min(1e-8)), target, weight=weight)


def _bce(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy(probs.clamp(1e-6, 1 - 1e-6), target)


@dataclass
class ParsingLoss:
    """Weighted sum of the parsing losses for one batch of generated images."""

    schema: HyperparamSchema
    weights: dict[str, torch.Tensor] = field(default_factory=dict)  # discrete target -> N / N_c
    coarse_weights: dict[str, torch.Tensor] = field(default_factory=dict)
    gammas: tuple[float, float, float] = (5.0, 5.0, 5.0)

    def __call__(self, out: dict[str, Any], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        g1, g2, g3 = self.gammas
        zero = out["features"].new_zeros(())
        reg, cls, hier = zero, zero, zero
        if out["continuous"] is not None:
            reg = F.mse_loss(out["continuous"], batch["continuous"])
        for t in self.schema.discrete:
            y = batch[f"d:{t.name}"]
            term = _nll(out["discrete"][t.name], y, self.weights.get(t.name))
            if t.hierarchy:
                hier = hier + term + _nll(out["coarse"][t.name], batch[f"c:{t.name}"], self.coarse_weights.get(t.name))
            else:
                cls = cls + term
        for t in self.schema.multilabel:
            term = _bce(out["multilabel"][t.name], batch[f"m:{t.name}"])
            if t.hierarchy:
                hier = hier + term + _bce(out["coarse"][t.name], batch[f"c:{t.name}"])
            else:
                cls = cls + term
        return {
            "regression": reg,
            "discrete": cls,
            "hierarchical": hier,
            "total": g1 * reg + g2 * cls + g3 * hier,
        }


# ---------------------------------------------------------------------------------------------- data
def shuffle_labels(table: pd.DataFrame, models: list[str], seed: int, key: str = "model_id") -> pd.DataFrame:
    """Random ground truth: permute the label rows among ``models`` (every other column moves with the
    row, so each target keeps exactly its distribution over those models)."""
    out = table.copy().reset_index(drop=True)
    idx = np.flatnonzero(out[key].isin(models).to_numpy())
    perm = np.random.default_rng(seed).permutation(idx)
    cols = [c for c in out.columns if c != key]
    out.loc[idx, cols] = out.loc[perm, cols].to_numpy()
    return out


class CropDataset(torch.utils.data.Dataset):
    """Images of a manifest frame as crops with per-image label tensors.

    Decoding, caching, seeded random / centre crops and reflection padding of small images are the
    classifier engine's (:class:`srprint.attribution.engine.CropDataset`); this adds the label arrays.
    """

    def __init__(
        self, root: Path, frame: pd.DataFrame, crop: int, labels: dict[str, np.ndarray], train: bool, seed: int = 0
    ) -> None:
        from ..attribution.engine import CropDataset as EngineCrops

        self.frame = frame.reset_index(drop=True)
        self.labels = labels
        self.base = EngineCrops(
            Path(root),
            self.frame["path"].tolist(),
            list(range(len(self.frame))),
            crop,
            train,
            seed,
            cache=True,
        )

    @property
    def epoch(self) -> int:
        return self.base.epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.base.epoch = value

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        arr, _ = self.base[i]
        x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float() / 255.0
        item = {"image": x, "index": torch.tensor(i)}
        for k, v in self.labels.items():
            item[k] = torch.as_tensor(v[i])
        return item


def _image_labels(
    frame: pd.DataFrame, table: pd.DataFrame, schema: HyperparamSchema, attribution_classes: list[str]
) -> dict[str, np.ndarray]:
    """Per-image label arrays (generated images carry their model's labels; ``HR`` rows get zeros)."""
    n = len(frame)
    is_gen = (frame["model_id"] != REAL_CLASS).to_numpy()
    tab = table.set_index(schema.key)
    ids = frame["model_id"].to_numpy()
    known = np.array([m in tab.index for m in ids]) & is_gen
    labels: dict[str, np.ndarray] = {
        "generated": is_gen.astype(np.float32),
        "labelled": known.astype(np.float32),
    }
    sub = tab.reindex([m if k else tab.index[0] for m, k in zip(ids, known, strict=True)]).reset_index()
    enc = schema.encode(sub)
    labels["continuous"] = enc.continuous
    for name, v in enc.discrete.items():
        labels[f"d:{name}"] = v
    for name, v in enc.multilabel.items():
        labels[f"m:{name}"] = v
    for name, v in enc.coarse.items():
        labels[f"c:{name}"] = v
    amap = {m: i for i, m in enumerate(attribution_classes)}
    labels["attr"] = np.array([amap.get(m, -1) for m in ids], dtype=np.int64)
    assert all(len(v) == n for v in labels.values())
    return labels


def _limit_per_model(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """At most ``n`` rows per model (a seeded random subset; row order kept)."""
    if not n:
        return frame
    return frame.sample(frac=1.0, random_state=seed).groupby("model_id", sort=False).head(n).sort_index()


# ---------------------------------------------------------------------------------------------- training
def log_spectrum(fp: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
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
        return fp, self.pn(log_spectrum(fp) if self.pn_input == "spectrum" else fp)


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
    schema: HyperparamSchema,
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
        table = shuffle_labels(table, train_models, label_shuffle_seed, schema.key)
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
    ds = CropDataset(root, rows, cfg.crop, labels, train=True, seed=cfg.seed)
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
    """Load a finished FEN+PN run folder (clear error for missing / half-written / foreign folders)."""
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
    device: str = "cpu",
    batch_size: int = 32,
    quiet: bool = True,
) -> FenPnPredictions:
    """Centre-crop every image of ``frame`` and run FEN+PN; mean fingerprints per model."""
    if not isinstance(run, FenPnRun):
        run = load_fen_pn(run, device)
    frame = frame.reset_index(drop=True)
    ds = CropDataset(Path(root), frame, run.cfg.crop, {}, train=False)
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


# ---------------------------------------------------------------------------------------------- evaluation
def parsing_scores(
    pred: FenPnPredictions, table: pd.DataFrame, schema: HyperparamSchema, n_images: int = 1, seed: int = 0
) -> dict[str, Any]:
    """L1 (continuous), macro F1 (discrete / coarse loss / fine loss) over chunks of ``n_images`` images
    of each labelled generated model in ``pred.frame`` (mean / majority vote within a chunk)."""
    frame = pred.frame
    keep = np.flatnonzero(frame["model_id"].isin(table[schema.key]).to_numpy())
    if keep.size == 0:
        raise DatasetError("no labelled generated images to score")
    sub = frame.iloc[keep].reset_index(drop=True)
    labels = _image_labels(sub, table, schema, [])
    chunks = M.chunk_indices(sub["model_id"].to_numpy(), n_images, seed)
    first = np.array([c[0] for c in chunks])
    res: dict[str, Any] = {"n_images": n_images, "n_chunks": len(chunks), "per_target": {}}
    if schema.continuous:
        agg = M.aggregate_continuous(pred.continuous[keep], chunks)
        res["l1"] = M.l1_error(agg, labels["continuous"][first])
        for j, t in enumerate(schema.continuous):
            res["per_target"][t.name] = {"l1": M.l1_error(agg[:, j], labels["continuous"][first, j])}
    flat_f1, fine_f1, coarse_f1 = [], [], []
    for t in schema.discrete:
        votes = M.aggregate_discrete(pred.discrete[t.name][keep].argmax(1), chunks)
        truth = labels[f"d:{t.name}"][first]
        f1 = M.macro_f1(truth, votes)
        res["per_target"][t.name] = {"f1": f1, "accuracy": M.accuracy(truth, votes)}
        if t.hierarchy:
            fine_f1.append(f1)
            cv = M.aggregate_discrete(pred.coarse[t.name][keep].argmax(1), chunks)
            cf = M.macro_f1(labels[f"c:{t.name}"][first], cv)
            coarse_f1.append(cf)
            res["per_target"][t.name]["coarse_f1"] = cf
        else:
            flat_f1.append(f1)
    for t in schema.multilabel:
        votes = M.aggregate_multilabel((pred.multilabel[t.name][keep] >= 0.5).astype(int), chunks)
        f1 = M.macro_f1(labels[f"m:{t.name}"][first].astype(int), votes)
        res["per_target"][t.name] = {"f1": f1}
        if t.hierarchy:
            fine_f1.append(f1)
            cv = M.aggregate_multilabel((pred.coarse[t.name][keep] >= 0.5).astype(int), chunks)
            coarse_f1.append(M.macro_f1(labels[f"c:{t.name}"][first].astype(int), cv))
        else:
            flat_f1.append(f1)
    res["f1_discrete"] = float(np.mean(flat_f1)) if flat_f1 else float("nan")
    res["f1_fine"] = float(np.mean(fine_f1)) if fine_f1 else float("nan")
    res["f1_coarse"] = float(np.mean(coarse_f1)) if coarse_f1 else float("nan")
    return res


def detection_auc(pred: FenPnPredictions) -> float:
    """AUC of "generated" scores: real ``HR`` images vs every generated image in ``pred``."""
    if pred.detection is None:
        return float("nan")
    return M.auc((pred.frame["model_id"] != REAL_CLASS).to_numpy(), pred.detection)


def attribution_accuracy(pred: FenPnPredictions, classes: list[str]) -> float:
    """Top-1 accuracy of the attribution head on images of its training models."""
    if pred.attribution is None:
        return float("nan")
    mask = pred.frame["model_id"].isin(classes).to_numpy()
    if not mask.any():
        return float("nan")
    truth = np.array([classes.index(m) for m in pred.frame["model_id"][mask]])
    return M.accuracy(truth, pred.attribution[mask].argmax(1))


def model_folds(table: pd.DataFrame, n_folds: int, seed: int = 0, key: str = "model_id") -> list[list[str]]:
    """Leave-models-out folds; models equal but for the seed stay in the same fold."""
    if n_folds < 2:
        raise SrprintError("leave-models-out cross-validation needs at least 2 folds")
    group_cols = [c for c in ("arch", "dataset", "scale", "loss") if c in table.columns]
    groups = (
        table.groupby(group_cols, sort=True)[key].apply(sorted).tolist()
        if group_cols
        else [[m] for m in sorted(table[key])]
    )
    if len(groups) < n_folds:
        raise SrprintError(f"{len(groups)} model groups cannot fill {n_folds} folds")
    order = np.random.default_rng(seed).permutation(len(groups))
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for i, g in enumerate(order):
        folds[i % n_folds] += groups[g]
    return [sorted(f) for f in folds]


def run_fen_cv(
    root: str | Path,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    schema: HyperparamSchema,
    out: str | Path,
    cfg: FenPnConfig | None = None,
    n_folds: int = 3,
    variants: tuple[str, ...] = VARIANTS,
    n_shuffles: int = 3,
    aggregate: tuple[int, ...] = (1, 10, 100),
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Leave-models-out CV of FEN+PN and its baselines; writes ``out/cv.json`` and ``out/cv.md``.

    Each fold trains on the other folds' models and scores the held-out models (all their images),
    aggregated over 1 / 10 / 100 images. Also: detection AUC (test-split HR vs held-out models),
    attribution accuracy (test split of the training models). ``randomgt`` averages ``n_shuffles``.
    """
    cfg = cfg or FenPnConfig()
    out = Path(out)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SrprintError(f"unknown FEN+PN variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    folds = model_folds(table, n_folds, seed, schema.key)
    results: dict[str, Any] = {"config": dataclasses.asdict(cfg), "folds": folds, "variants": {}}
    for variant in variants:
        runs: list[dict[str, Any]] = []
        for f, test_models in enumerate(folds):
            train_models = sorted(set(table[schema.key]) - set(test_models))
            shuffles = list(range(n_shuffles)) if variant == "randomgt" else [None]
            vcfg = dataclasses.replace(cfg, fingerprint_losses=variant != "nofp")
            for s in shuffles:
                sub = out / variant / (f"fold{f}" + (f"-shuffle{s}" if s is not None else ""))
                scores_path = sub / "scores.json"
                if scores_path.is_file():
                    runs.append(json.loads(scores_path.read_text()))
                    continue
                run = train_fen_pn(
                    root,
                    frame,
                    table,
                    schema,
                    train_models,
                    sub,
                    vcfg,
                    device,
                    label_shuffle_seed=None if s is None else 1000 + 17 * f + s,
                    quiet=True,
                )
                test = frame[
                    frame["model_id"].isin(test_models)
                    | ((frame["model_id"] == REAL_CLASS) & (frame["split"] == "test"))
                    | (frame["model_id"].isin(train_models) & (frame["split"] == "test"))
                ]
                pred = predict_fen_pn(run, root, test, device)
                held = _subset(pred, pred.frame["model_id"].isin(test_models).to_numpy())
                scores = {
                    "fold": f,
                    "shuffle": s,
                    "aggregate": {str(n): parsing_scores(held, table, schema, n, seed) for n in aggregate},
                    "detection_auc": detection_auc(
                        _subset(
                            pred,
                            (
                                pred.frame["model_id"].isin(test_models) | (pred.frame["model_id"] == REAL_CLASS)
                            ).to_numpy(),
                        )
                    ),
                    "attribution_accuracy": attribution_accuracy(
                        _subset(pred, pred.frame["model_id"].isin(train_models).to_numpy()),
                        load_fen_pn(run).attribution_classes,
                    ),
                }
                atomic_write_json(scores_path, scores)
                runs.append(scores)
        results["variants"][variant] = {"runs": runs, "mean": _mean_scores(runs, aggregate)}
    atomic_write_json(out / "cv.json", results)
    from ..io.atomic import atomic_write_text

    atomic_write_text(out / "cv.md", cv_markdown(results))
    return results


def _subset(pred: FenPnPredictions, mask: np.ndarray) -> FenPnPredictions:
    idx = np.flatnonzero(mask)
    return FenPnPredictions(
        frame=pred.frame.iloc[idx].reset_index(drop=True),
        continuous=pred.continuous[idx],
        discrete={k: v[idx] for k, v in pred.discrete.items()},
        coarse={k: v[idx] for k, v in pred.coarse.items()},
        multilabel={k: v[idx] for k, v in pred.multilabel.items()},
        detection=None if pred.detection is None else pred.detection[idx],
        attribution=None if pred.attribution is None else pred.attribution[idx],
        fingerprints=pred.fingerprints,
    )


def _mean_scores(runs: list[dict[str, Any]], aggregate: tuple[int, ...]) -> dict[str, Any]:
    def mean(vals: list[float]) -> float:
        vals = [v for v in vals if v == v]  # drop NaN
        return float(np.mean(vals)) if vals else float("nan")

    res: dict[str, Any] = {}
    for n in aggregate:
        res[str(n)] = {
            k: mean([r["aggregate"][str(n)].get(k, float("nan")) for r in runs])
            for k in ("l1", "f1_discrete", "f1_coarse", "f1_fine")
        }
    res["detection_auc"] = mean([r["detection_auc"] for r in runs])
    res["attribution_accuracy"] = mean([r["attribution_accuracy"] for r in runs])
    return res


def cv_markdown(results: dict[str, Any]) -> str:
    """Markdown table: variant x aggregation -> L1 / F1 discrete / coarse / fine, AUC, attribution."""
    lines = [
        "| variant | images | L1 (lower better) | F1 discrete | F1 coarse loss | F1 fine loss | det. AUC | attr. acc |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant, v in results["variants"].items():
        for n, s in v["mean"].items():
            if n in ("detection_auc", "attribution_accuracy"):
                continue
            lines.append(
                f"| {variant} | {n} | {s['l1']:.3f} | {s['f1_discrete']:.3f} | {s['f1_coarse']:.3f} | "
                f"{s['f1_fine']:.3f} | {v['mean']['detection_auc']:.3f} | "
                f"{v['mean']['attribution_accuracy']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def clear_run(path: Path) -> None:
    """Remove a run folder (used by ``--force``)."""
    if path.exists():
        shutil.rmtree(path)


__all__ = [
    "FenPnConfig",
    "ParsingNetwork",
    "ParsingLoss",
    "class_weights",
    "hierarchical_probs",
    "shuffle_labels",
    "train_fen_pn",
    "load_fen_pn",
    "predict_fen_pn",
    "parsing_scores",
    "run_fen_cv",
    "model_folds",
    "SchemaError",
]


def predict_folder(run: str | Path, target: str | Path, device: str = "cpu") -> dict[str, Any]:
    """Parse one image or a folder assumed to come from one model: per-image predictions and the
    aggregate (mean of continuous values in the table's units, majority vote of discrete ones)."""
    from ..errors import ImageError
    from ..io.images import list_images, read_image

    target = Path(target)
    if target.is_dir():
        files, root = list_images(target), target
    elif target.is_file():
        files, root = [target], target.parent
    else:
        raise SrprintError(f"no such image or folder: {target}")
    good, skipped = [], []
    for f in files:
        try:
            read_image(f)
            good.append(f)
        except ImageError as exc:
            skipped.append(f"{f}: {exc}")
    if not good:
        raise ImageError(f"no readable image in {target}")
    loaded = load_fen_pn(run, device)
    frame = pd.DataFrame({"path": [str(f.relative_to(root)) for f in good], "model_id": "?"})
    pred = predict_fen_pn(loaded, root, frame, device)
    schema = loaded.schema
    cont = schema.denormalise(pred.continuous) if schema.continuous else np.zeros((len(good), 0))
    images = []
    for i, f in enumerate(good):
        item: dict[str, Any] = {"path": str(f.relative_to(root))}
        for j, t in enumerate(schema.continuous):
            item[t.name] = float(cont[i, j])
        for t in schema.discrete:
            item[t.name] = t.classes[int(pred.discrete[t.name][i].argmax())]
            if t.hierarchy:
                item[f"{t.name}_coarse"] = list(t.hierarchy)[int(pred.coarse[t.name][i].argmax())]
        for t in schema.multilabel:
            item[t.name] = [c for c, p in zip(t.classes, pred.multilabel[t.name][i], strict=True) if p >= 0.5]
        if pred.detection is not None:
            item["p_generated"] = float(pred.detection[i])
        images.append(item)
    agg: dict[str, Any] = {}
    all_idx = [np.arange(len(good))]
    for j, t in enumerate(schema.continuous):
        agg[t.name] = round(float(cont[:, j].mean()), 3)
    for t in schema.discrete:
        agg[t.name] = t.classes[int(M.aggregate_discrete(pred.discrete[t.name].argmax(1), all_idx)[0])]
        if t.hierarchy:
            agg[f"{t.name}_coarse"] = list(t.hierarchy)[
                int(M.aggregate_discrete(pred.coarse[t.name].argmax(1), all_idx)[0])
            ]
    for t in schema.multilabel:
        votes = M.aggregate_multilabel((pred.multilabel[t.name] >= 0.5).astype(int), all_idx)[0]
        agg[t.name] = [c for c, v in zip(t.classes, votes, strict=True) if v]
    if pred.detection is not None:
        agg["p_generated"] = round(float(pred.detection.mean()), 3)
    return {"run": str(run), "n_images": len(good), "images": images, "aggregate": agg, "skipped": skipped}
