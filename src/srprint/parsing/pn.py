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

This module holds the network, its loss and its data; training and prediction are in
:mod:`.fenpn_train`, scores and cross-validation in :mod:`.fenpn_eval`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import SrprintError
from ..render.manifest import REAL_CLASS
from .fen import DEFAULT_LAMBDAS, LOSS_SCALES, default_k
from .schema import HyperparamSchema, Target

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
    coarse_logits: torch.Tensor, fine_logits: torch.Tensor, groups: list[list[int]], *, multilabel: bool = False
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
                coarse, fine = hierarchical_probs(self.coarse[t.name](feat), logits, group_indices(t), multilabel=True)
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
def shuffle_labels(table: pd.DataFrame, models: list[str], seed: int, *, key: str = "model_id") -> pd.DataFrame:
    """Random ground truth: permute the label rows among ``models`` (every other column moves with the
    row, so each target keeps exactly its distribution over those models)."""
    out = table.copy().reset_index(drop=True)
    idx = np.flatnonzero(out[key].isin(models).to_numpy())
    perm = np.random.default_rng(seed).permutation(idx)
    cols = [c for c in out.columns if c != key]
    out.loc[idx, cols] = out.loc[perm, cols].to_numpy()
    return out


class LabelledCropDataset(torch.utils.data.Dataset):
    """Images of a manifest frame as crops with per-image label tensors.

    Decoding, caching, seeded random / centre crops and reflection padding of small images are the
    classifier engine's (:class:`srprint.classify.data.CropDataset`); this adds the label arrays.
    """

    def __init__(
        self, root: Path, frame: pd.DataFrame, crop: int, labels: dict[str, np.ndarray], train: bool, seed: int = 0
    ) -> None:
        from ..classify.data import CropDataset as EngineCrops

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
