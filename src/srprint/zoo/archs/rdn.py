"""RDN (Zhang et al., CVPR 2018): residual dense blocks with local and global feature fusion."""

from __future__ import annotations

import torch
from torch import nn

from . import register_arch
from .common import Upsampler, conv3x3


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv3x3(cin, growth), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(x)], dim=1)


class RDB(nn.Module):
    """Residual dense block: C densely connected conv layers, 1x1 local fusion, local residual."""

    def __init__(self, g0: int, growth: int, n_layers: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*[DenseLayer(g0 + i * growth, growth) for i in range(n_layers)])
        self.lff = nn.Conv2d(g0 + n_layers * growth, g0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.lff(self.layers(x))


class RDN(nn.Module):
    def __init__(self, scale: int, g0: int = 64, n_blocks: int = 16, n_layers: int = 8, growth: int = 64) -> None:
        super().__init__()
        self.scale = scale
        self.sfe1 = conv3x3(3, g0)
        self.sfe2 = conv3x3(g0, g0)
        self.rdbs = nn.ModuleList([RDB(g0, growth, n_layers) for _ in range(n_blocks)])
        self.gff = nn.Sequential(nn.Conv2d(n_blocks * g0, g0, 1), conv3x3(g0, g0))
        self.upnet = nn.Sequential(Upsampler(scale, g0), conv3x3(g0, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.sfe1(x)
        h = self.sfe2(f1)
        outs = []
        for block in self.rdbs:
            h = block(h)
            outs.append(h)
        h = self.gff(torch.cat(outs, dim=1)) + f1
        return self.upnet(h)


@register_arch(
    "RDN",
    presets={
        "paper": {"g0": 64, "n_blocks": 16, "n_layers": 8, "growth": 64},
        "tiny": {"g0": 32, "n_blocks": 4, "n_layers": 4, "growth": 16},
    },
    reference="Zhang et al., Residual Dense Network for Image Super-Resolution, CVPR 2018",
    tags=("dense", "pixelshuffle"),
)
def rdn(scale: int, **cfg: object) -> nn.Module:
    return RDN(scale, **cfg)  # type: ignore[arg-type]
