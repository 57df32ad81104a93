"""BSRN port (Li et al., CVPRW 2022), as submitted to the NTIRE 2022 efficient-SR challenge (team 18).

Blueprint separable convolutions (pointwise then depthwise) inside RFDB-style distillation blocks
with an ESA attention. This challenge variant implements the pointwise convs as ``nn.Linear`` on
channels-last tensors (2-D weights) and scales each block's output by a learned per-channel ``cw``;
names follow that release so its state dict loads unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch

_REF = "Li et al., Blueprint Separable Residual Network for Efficient Image Super-Resolution, CVPRW 2022"


def _linear_nchw(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """Apply a channel ``nn.Linear`` to an NCHW tensor (a 1x1 conv stored as a 2-D weight)."""
    return layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class BlueprintConv(nn.Module):
    """BSConv-U: pointwise (linear over channels) followed by a depthwise ``k x k`` conv."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.pw = nn.Linear(cin, cout)
        self.dw = nn.Conv2d(cout, cout, kernel_size, padding=kernel_size // 2, groups=cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw(_linear_nchw(self.pw, x))


class ESA(nn.Module):
    """Enhanced spatial attention (strided conv + max-pool pyramid -> sigmoid mask)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        f = channels // 4
        self.conv1 = nn.Linear(channels, f)
        self.conv_f = nn.Linear(f, f)
        self.conv_max = BlueprintConv(f, f)
        self.conv2 = nn.Conv2d(f, f, 3, 2, 0)
        self.conv3 = BlueprintConv(f, f)
        self.conv3_ = BlueprintConv(f, f)
        self.conv4 = nn.Linear(f, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1_ = _linear_nchw(self.conv1, x)
        c1 = self.conv2(c1_)
        # 7x7 pooling as released; shrunk on tiny inputs (< 17 px), where the original fails
        c1 = F.max_pool2d(c1, kernel_size=min(7, *c1.shape[-2:]), stride=3)
        c3 = F.gelu(self.conv3(F.gelu(self.conv_max(c1))))
        c3 = F.interpolate(self.conv3_(c3), size=x.shape[-2:], mode="bilinear", align_corners=False)
        m = torch.sigmoid(_linear_nchw(self.conv4, c3 + _linear_nchw(self.conv_f, c1_)))
        return x * m


class ESDB(nn.Module):
    """Distillation block: 3 (distil, refine) steps, fusion, ESA, channel scale ``cw``, residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        dc = channels // 2
        self.c1_d, self.c2_d, self.c3_d = (nn.Linear(channels, dc) for _ in range(3))
        self.c1_r, self.c2_r, self.c3_r = (BlueprintConv(channels, channels) for _ in range(3))
        self.c4 = BlueprintConv(channels, dc)
        self.c5 = nn.Linear(dc * 4, channels)
        self.esa = ESA(channels)
        self.cw = nn.Parameter(torch.ones(1, channels))
        self.conv_out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distilled = []
        r = x
        for d_layer, r_layer in ((self.c1_d, self.c1_r), (self.c2_d, self.c2_r), (self.c3_d, self.c3_r)):
            distilled.append(F.gelu(_linear_nchw(d_layer, r)))
            r = F.gelu(r_layer(r) + r)
        distilled.append(F.gelu(self.c4(r)))
        out = self.esa(_linear_nchw(self.c5, torch.cat(distilled, dim=1)))
        out = self.conv_out(out.permute(0, 2, 3, 1) * self.cw).permute(0, 3, 1, 2)
        return out + x


class BSRN(nn.Module):
    """BSRN (challenge variant): input repeated 4x on channels, ``num_block`` ESDBs, one-step upsampler."""

    def __init__(self, scale: int = 4, num_feat: int = 48, num_block: int = 5) -> None:
        super().__init__()
        self.fea_conv = BlueprintConv(3 * 4, num_feat)
        for i in range(num_block):
            self.add_module(f"B{i + 1}", ESDB(num_feat))
        self.num_block = num_block
        self.c1 = nn.Linear(num_feat * num_block, num_feat)
        self.c2 = BlueprintConv(num_feat, num_feat)
        self.upsampler = nn.Module()
        self.upsampler.upsampleOneStep = nn.Sequential(
            nn.Conv2d(num_feat, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.fea_conv(torch.cat([x, x, x, x], dim=1))
        outs = []
        h = fea
        for i in range(self.num_block):
            h = getattr(self, f"B{i + 1}")(h)
            outs.append(h)
        trunk = F.gelu(_linear_nchw(self.c1, torch.cat(outs, dim=1)))
        return self.upsampler.upsampleOneStep(self.c2(trunk) + fea)


@register_arch("BSRN", presets={"paper": {"num_feat": 48, "num_block": 5}}, scales=(2, 3, 4),
               reference=_REF, tags=("port",))
def bsrn(scale: int, num_feat: int = 48, num_block: int = 5) -> nn.Module:
    return BSRN(scale, num_feat, num_block)
