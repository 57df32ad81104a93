"""ESPCN port (Shi et al., CVPR 2016) in the form of OpenCV's ``dnn_superres`` TensorFlow models.

Y-channel network: 5x5 conv (64) -> 3x3 conv (32) -> 3x3 conv to ``scale**2`` channels, ReLU between,
pixel shuffle, then ``tanh`` on the output (as in that export). Weights come from the ``.pb``
GraphDef reader (:mod:`srprint.zoo.imports.readers_tf`).
"""

from __future__ import annotations

import torch
from torch import nn

from ...archs import register_arch

_REF = "Shi et al., Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel CNN, CVPR 2016"


class ESPCN(nn.Module):
    def __init__(self, scale: int, channels: tuple[int, int] = (64, 32), kernels: tuple[int, int, int] = (5, 3, 3)
                 ) -> None:
        super().__init__()
        c1, c2 = channels
        k1, k2, k3 = kernels
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, k1, padding=k1 // 2), nn.ReLU(),
            nn.Conv2d(c1, c2, k2, padding=k2 // 2), nn.ReLU(),
            nn.Conv2d(c2, scale * scale, k3, padding=k3 // 2), nn.PixelShuffle(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.body(x))


@register_arch("ESPCN", presets={"paper": {"channels": [64, 32], "kernels": [5, 3, 3]}}, scales=(2, 3, 4),
               reference=_REF, tags=("port", "grey"))
def espcn(scale: int, channels: tuple[int, int] | list[int] = (64, 32),
          kernels: tuple[int, int, int] | list[int] = (5, 3, 3)) -> nn.Module:
    return ESPCN(scale, tuple(channels), tuple(kernels))  # type: ignore[arg-type]
