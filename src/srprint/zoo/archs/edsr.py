"""EDSR (Lim et al., CVPR-W 2017): residual blocks without batch norm, pixel-shuffle upsampler."""

from __future__ import annotations

import torch
from torch import nn

from . import register_arch
from .common import MeanShift, ResBlock, Upsampler, conv3x3


class EDSR(nn.Module):
    def __init__(self, scale: int, n_resblocks: int = 32, n_feats: int = 256, res_scale: float = 0.1) -> None:
        super().__init__()
        self.scale = scale
        self.sub_mean, self.add_mean = MeanShift(-1), MeanShift(+1)
        self.head = conv3x3(3, n_feats)
        blocks = [ResBlock(n_feats, res_scale) for _ in range(n_resblocks)]
        self.body = nn.Sequential(*blocks, conv3x3(n_feats, n_feats))
        self.tail = nn.Sequential(Upsampler(scale, n_feats), conv3x3(n_feats, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))


@register_arch(
    "EDSR",
    presets={
        "paper": {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1},
        "tiny": {"n_resblocks": 8, "n_feats": 32, "res_scale": 1.0},
    },
    reference="Lim et al., Enhanced Deep Residual Networks for Single Image Super-Resolution, CVPR-W 2017",
    tags=("residual", "pixelshuffle"),
)
def edsr(scale: int, **cfg: object) -> nn.Module:
    return EDSR(scale, **cfg)  # type: ignore[arg-type]
