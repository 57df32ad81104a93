"""DnCNN port (Zhang et al., TIP 2017) in the layout with explicit batch norm (SaoYan/DnCNN-PyTorch).

conv+ReLU, (depth-2) x (conv+BN+ReLU), conv; the network predicts the noise (residual learning),
so zoo entries set ``residual=True`` (clean = input - net(input)). KAIR's BN-folded DnCNN is
detected by spandrel instead.
"""

from __future__ import annotations

import torch
from torch import nn

from ...archs import register_arch


class DnCNNBN(nn.Module):
    def __init__(self, depth: int = 17, channels: int = 1, features: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, features, 3, padding=1, bias=False), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1, bias=False), nn.BatchNorm2d(features),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, channels, 3, padding=1, bias=False))
        self.dncnn = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dncnn(x)


@register_arch("DnCNN-BN", presets={"paper": {"depth": 17, "channels": 1, "features": 64},
                                    "blind": {"depth": 20, "channels": 1, "features": 64}},
               scales=(1,), reference="Zhang et al., Beyond a Gaussian Denoiser: Residual Learning of Deep CNN "
                                      "for Image Denoising, TIP 2017", tags=("port", "denoise", "residual"))
def dncnn_bn(scale: int, depth: int = 17, channels: int = 1, *, features: int = 64) -> nn.Module:
    return DnCNNBN(depth, channels, features)
