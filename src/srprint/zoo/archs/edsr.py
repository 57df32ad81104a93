"""EDSR (Lim et al., CVPR-W 2017): residual blocks without batch norm, pixel-shuffle upsampler."""

from __future__ import annotations

from torch import nn

from . import register_arch
from .common import MeanShiftedResidualNet, ResBlock


class EDSR(MeanShiftedResidualNet):
    def __init__(self, scale: int, n_resblocks: int = 32, n_feats: int = 256, res_scale: float = 0.1) -> None:
        super().__init__(scale, n_feats, lambda: [ResBlock(n_feats, res_scale) for _ in range(n_resblocks)])


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
