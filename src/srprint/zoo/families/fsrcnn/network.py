"""FSRCNN port (Dong et al., ECCV 2016) in the form of OpenCV's ``dnn_superres`` TensorFlow models.

Y-channel network: feature extraction (5x5, PReLU) -> shrink (1x1) -> ``m`` mapping 3x3 convs ->
expand (1x1) -> a sub-pixel layer (conv to ``scale**2`` channels + pixel shuffle) in place of the
paper's deconvolution. FSRCNN-small is the same graph with ``d=32, s=5, m=1``. Weights come from
the ``.pb`` GraphDef reader (:mod:`srprint.zoo.imports.readers_tf`).
"""

from __future__ import annotations

import torch
from torch import nn

from ...archs import register_arch

_REF = "Dong et al., Accelerating the Super-Resolution Convolutional Neural Network, ECCV 2016"


def _conv_prelu(cin: int, cout: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2), nn.PReLU(cout)]


class FSRCNN(nn.Module):
    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4, feature_kernel: int = 5,
                 map_kernel: int = 3, up_kernel: int = 1) -> None:
        super().__init__()
        layers = _conv_prelu(1, d, feature_kernel) + _conv_prelu(d, s, 1)
        for _ in range(m):
            layers += _conv_prelu(s, s, map_kernel)
        layers += _conv_prelu(s, d, 1)
        self.body = nn.Sequential(*layers)
        self.upsample = nn.Sequential(nn.Conv2d(d, scale * scale, up_kernel, padding=up_kernel // 2),
                                      nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.body(x))


_PRESETS = {"paper": {"d": 56, "s": 12, "m": 4}, "small": {"d": 32, "s": 5, "m": 1}}


@register_arch("FSRCNN", presets=_PRESETS, scales=(2, 3, 4), reference=_REF, tags=("port", "grey"))
def fsrcnn(scale: int, d: int = 56, s: int = 12, *, m: int = 4, feature_kernel: int = 5, map_kernel: int = 3,
           up_kernel: int = 1) -> nn.Module:
    return FSRCNN(scale, d, s, m, feature_kernel, map_kernel, up_kernel)
