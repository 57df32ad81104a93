"""VDSR port (Kim et al., CVPR 2016): 20 conv layers on the luma of the bicubic-upsampled image,
predicting the residual. Parameter names follow twtygqyy/pytorch-vdsr; one set of weights serves
x2, x3 and x4 (the upsampling is bicubic, inside the port)."""

from __future__ import annotations

import torch
from torch import nn

from ...archs import register_arch


class _ConvReLU(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


class VDSR(nn.Module):
    """Input: the (luma) LR image; bicubic-upsampled by ``scale`` here, then refined residually."""

    def __init__(self, scale: int, depth: int = 20, features: int = 64, channels: int = 1) -> None:
        super().__init__()
        self.scale = scale
        self.input = nn.Conv2d(channels, features, 3, 1, 1, bias=False)
        self.residual_layer = nn.Sequential(*[_ConvReLU(features) for _ in range(depth - 2)])
        self.output = nn.Conv2d(features, channels, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from ....degradation import bicubic_upscale

        up = bicubic_upscale(x, self.scale) if self.scale > 1 else x
        return up + self.output(self.residual_layer(torch.relu(self.input(up))))


@register_arch("VDSR", presets={"paper": {"depth": 20, "features": 64, "channels": 1}}, scales=(2, 3, 4),
               reference="Kim et al., Accurate Image Super-Resolution Using Very Deep Convolutional Networks, "
                         "CVPR 2016", tags=("port", "preupsample", "residual"))
def vdsr(scale: int, depth: int = 20, features: int = 64, *, channels: int = 1) -> nn.Module:
    return VDSR(scale, depth, features, channels)
