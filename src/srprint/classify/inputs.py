"""What the classifier sees: the image itself or its log-DCT spectrum (``ClassifierConfig.input``).

Why a spectrum: the reference study fine-tunes an ImageNet-pretrained ConvNeXt on pixels. No weights
can be downloaded here, and a ConvNeXt trained *from scratch* on pixels does not find the
fingerprint at CPU budgets: measured on a 5-class render (4 SR models + real photos, 100 training
images, 64 px crops), ``convnext_atto`` stayed at chance (train accuracy 0.20 after 25 epochs) and
ResNet-18 reached 0.35, while the same ``convnext_atto`` fed the per-coefficient standardised
log-magnitude DCT of the crop reached 0.9 train / 1.0 test accuracy within 7 epochs. SR upsamplers
leave periodic traces that are spread over every pixel but concentrated in a few frequencies; this is
the input representation of Frank et al., "Leveraging Frequency Analysis for Deep Fake Image
Recognition" (ICML 2020), which made GAN attribution nearly linearly separable.

:class:`ClassifierNet` wraps any timm backbone with that representation and keeps timm's interface
(``forward_features``, ``forward_head``, ``get_classifier``, ``reset_classifier``), so the training
engine, prediction, features for t-SNE / open-set scores and ``--init`` work unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import SrprintError
from .backbones import create_backbone

INPUT_KINDS = ("dct", "rgb")


DCT_EPS = 1e-2  # default floor of log(|DCT| + eps); see ClassifierConfig.dct_eps for why this value


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``D`` (``n x n``): ``D @ x @ D.T`` is the 2-D DCT of ``x``."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.float()


class ClassifierNet(nn.Module):
    """A timm backbone behind an input representation (``"rgb"``: identity; ``"dct"``: log-DCT).

    For ``"dct"`` each crop ``x`` (``B, 3, crop, crop``, values in ``[-1, 1]``) becomes
    ``(log(|D x Dᵀ| + eps) - mean) / std`` per channel and coefficient; ``mean`` / ``std`` are buffers
    fitted once on training crops (:meth:`fit_input_stats`) and saved with the weights.
    """

    def __init__(self, body: nn.Module, input_kind: str, crop: int, eps: float = DCT_EPS) -> None:
        super().__init__()
        if input_kind not in INPUT_KINDS:
            raise SrprintError(f"unknown classifier input {input_kind!r}; known: {', '.join(INPUT_KINDS)}")
        if not eps > 0:
            raise SrprintError(f"the log-DCT floor must be > 0, got {eps}")
        self.body, self.input_kind, self.crop, self.eps = body, input_kind, crop, float(eps)
        if input_kind == "dct":
            self.register_buffer("dct", dct_matrix(crop), persistent=False)
            self.register_buffer("in_mean", torch.zeros(3, crop, crop))
            self.register_buffer("in_std", torch.ones(3, crop, crop))

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """Unstandardised log-magnitude DCT of ``x`` (``B, C, crop, crop``).

        Raises
        ------
        SrprintError
            On: "classifier expects …x… crops, got …".
        """
        if x.shape[-2:] != (self.crop, self.crop):
            raise SrprintError(f"classifier expects {self.crop}x{self.crop} crops, got {tuple(x.shape[-2:])}")
        return torch.log(torch.abs(self.dct @ x.float() @ self.dct.T) + self.eps)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_kind == "rgb":
            return x
        return (self.spectrum(x) - self.in_mean) / self.in_std

    @torch.no_grad()
    def fit_input_stats(self, batches: list[torch.Tensor]) -> None:
        """Fit the per-coefficient mean / std of the representation on training crops.

        Raises
        ------
        SrprintError
            On: "need at least two training crops to fit the spectrum statistics".
        """
        if self.input_kind == "rgb":
            return
        n = 0
        s1 = torch.zeros_like(self.in_mean, dtype=torch.float64)
        s2 = torch.zeros_like(s1)
        for x in batches:
            spec = self.spectrum(x.to(self.dct.device)).double()
            n += spec.shape[0]
            s1 += spec.sum(0)
            s2 += (spec * spec).sum(0)
        if n < 2:
            raise SrprintError("need at least two training crops to fit the spectrum statistics")
        mean = s1 / n
        var = (s2 / n - mean * mean).clamp_min(0.0) * n / (n - 1)
        self.in_mean.copy_(mean.float())
        self.in_std.copy_(var.sqrt().float() + 1e-3)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body.forward_features(self.represent(x))

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.body.forward_head(features, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.body.get_classifier()

    def reset_classifier(self, num_classes: int) -> None:
        self.body.reset_classifier(num_classes)


def create_classifier_net(
    backbone: str, num_classes: int, input_kind: str, *, crop: int, eps: float = DCT_EPS
) -> ClassifierNet:
    """A fresh (randomly initialised, nothing downloaded) backbone behind ``input_kind``."""
    return ClassifierNet(create_backbone(backbone, num_classes), input_kind, crop, eps)
