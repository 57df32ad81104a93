"""SPAN port, re-parameterised form (Wan et al., CVPRW 2024; NTIRE 2024 team 38 'SPAN30 slim').

Swift parameter-free attention: each block runs three 3x3 convs (SiLU between) and gates
``(out + x)`` by ``sigmoid(out) - 0.5``. Training-time Conv3XC branches are merged into a single
``eval_conv`` per layer in this release. The input is mean-shifted and scaled by 255 inside the
network; the output is in ``[0, 1]``. Names follow that release.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch
from ...archs.common import DIV2K_RGB_MEAN, NamedConv3x3

_REF = "Wan et al., Swift Parameter-free Attention Network for Efficient Super-Resolution, CVPRW 2024"


def MergedConv(cin: int, cout: int) -> NamedConv3x3:  # noqa: N802 - reads as the release's module name
    """A Conv3XC after re-parameterisation: one 3x3 conv, key ``eval_conv``."""
    return NamedConv3x3(cin, cout, "eval_conv")


class SPAB(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c1_r = MergedConv(channels, channels)
        self.c2_r = MergedConv(channels, channels)
        self.c3_r = MergedConv(channels, channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # the release applies SiLU in place, so the tapped first-conv output is post-activation
        out1 = F.silu(self.c1_r(x))
        out3 = self.c3_r(F.silu(self.c2_r(out1)))
        return (out3 + x) * (torch.sigmoid(out3) - 0.5), out1


class SPAN(nn.Module):
    def __init__(self, scale: int = 4, feature_channels: int = 28, img_range: float = 255.0) -> None:
        super().__init__()
        self.img_range = img_range
        self.register_buffer("mean", torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        c = feature_channels
        self.conv_1 = MergedConv(3, c)
        for i in range(1, 7):
            self.add_module(f"block_{i}", SPAB(c))
        self.conv_cat = nn.Conv2d(c * 4, c, 1)
        self.conv_2 = MergedConv(c, c)
        self.upsampler = nn.Sequential(nn.Conv2d(c, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_1((x - self.mean) * self.img_range)
        h = feat
        outs = []
        for i in range(1, 7):
            h, first = getattr(self, f"block_{i}")(h)
            outs.append((h, first))
        out_b1 = outs[0][0]
        out_b5_2 = outs[5][1]  # activated first-conv output of block 6
        out = self.conv_cat(torch.cat([feat, self.conv_2(h), out_b1, out_b5_2], dim=1))
        return self.upsampler(out)


@register_arch("SPAN-NTIRE24", presets={"paper": {"feature_channels": 28}}, scales=(2, 3, 4),
               reference=_REF, tags=("port",))
def span_ntire24(scale: int, feature_channels: int = 28) -> nn.Module:
    return SPAN(scale, feature_channels)
