"""FMEN port (Du et al., CVPRW 2022), the re-parameterised (inference) form submitted to NTIRE 2022.

Fast and memory-efficient network: plain 3x3 conv pairs interleaved with high-frequency attention
blocks (HFAB: squeeze conv -> conv pairs -> excite conv -> sigmoid mask). The release expects inputs
in ``[0, 255]`` (its zoo entry records ``input_range=(0, 255)``). Names follow that release.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch
from ...archs.common import NamedConv3x3

_REF = "Du et al., Fast and Memory-Efficient Network Towards Efficient Image Super-Resolution, CVPRW 2022"
_SLOPE = 0.1


def RepConv(channels: int) -> NamedConv3x3:  # noqa: N802 - reads as the release's module name
    """A re-parameterised 3x3 conv (training-time branches already merged), key ``rep_conv``."""
    return NamedConv3x3(channels, channels, "rep_conv")


class ConvPair(nn.Module):
    """conv -> LeakyReLU(0.1) -> conv (no residual)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = RepConv(channels)
        self.conv2 = RepConv(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.leaky_relu(self.conv1(x), _SLOPE))


class HFAB(nn.Module):
    """High-frequency attention block: a sigmoid mask computed at ``mid`` channels multiplies the input."""

    def __init__(self, channels: int, n_pairs: int, mid: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, mid, 3, 1, 1)
        self.convs = nn.Sequential(*[ConvPair(mid) for _ in range(n_pairs)])
        self.excitate = nn.Conv2d(mid, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.convs(F.leaky_relu(self.squeeze(x), _SLOPE)), _SLOPE)
        return torch.sigmoid(self.excitate(h)) * x


class FMEN(nn.Module):
    def __init__(self, scale: int = 4, n_feats: int = 50, mid_feats: int = 16, down_blocks: int = 4,
                 up_blocks: tuple[int, ...] = (2, 1, 1, 1, 1), warmup_mid: int = 12) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, n_feats, 3, 1, 1)
        self.warmup = nn.Sequential(nn.Conv2d(n_feats, n_feats, 3, 1, 1),
                                    HFAB(n_feats, up_blocks[0], warmup_mid))
        self.basic_blocks = nn.ModuleList([ConvPair(n_feats) for _ in range(down_blocks)])
        self.hfabs = nn.ModuleList([HFAB(n_feats, up_blocks[i + 1], mid_feats) for i in range(down_blocks)])
        self.lr_conv = nn.Conv2d(n_feats, n_feats, 3, 1, 1)
        self.tail = nn.Sequential(nn.Conv2d(n_feats, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        h = self.warmup(x)
        for block, hfab in zip(self.basic_blocks, self.hfabs, strict=True):
            h = hfab(block(h))
        return self.tail(self.lr_conv(h) + x)


@register_arch("FMEN", presets={"paper": {"n_feats": 50, "mid_feats": 16, "down_blocks": 4,
                                          "up_blocks": [2, 1, 1, 1, 1], "warmup_mid": 12}},
               scales=(2, 3, 4), reference=_REF, tags=("port",))
def fmen(scale: int, n_feats: int = 50, mid_feats: int = 16, *, down_blocks: int = 4,
         up_blocks: tuple[int, ...] | list[int] = (2, 1, 1, 1, 1), warmup_mid: int = 12) -> nn.Module:
    return FMEN(scale, n_feats, mid_feats, down_blocks, tuple(up_blocks), warmup_mid)
