"""CARN-M port (Ahn et al., ECCV 2018): cascading residual network, mobile variant.

The official CARN-M checkpoint is multi-scale: one body with x2, x3 and x4 upsampling heads
(``upsample.up2/up3/up4``). The port keeps all heads; ``scale`` picks the head used in forward,
so one file imports as one zoo entry per scale (``srprint zoo import --scale S`` picks one).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...archs import register_arch


class _MeanShift(nn.Module):
    """Fixed 1x1 conv adding / subtracting the DIV2K mean (stored in the checkpoint)."""

    def __init__(self, sign: int, mean: tuple[float, float, float] = (0.4488, 0.4371, 0.4040)) -> None:
        super().__init__()
        self.shifter = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.shifter.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.shifter.bias.copy_(sign * torch.tensor(mean))
        self.shifter.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shifter(x)


class _ConvReLU(nn.Module):
    def __init__(self, cin: int, cout: int, k: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, k, 1, (k - 1) // 2), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _EfficientResBlock(nn.Module):
    """Group conv - ReLU - group conv - ReLU - 1x1 conv, residual, ReLU."""

    def __init__(self, c: int, group: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, 1, 1, groups=group), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, 1, 1, groups=group), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + x)


class _CascadeBlock(nn.Module):
    """Local cascade: one shared efficient residual block applied three times."""

    def __init__(self, c: int, group: int) -> None:
        super().__init__()
        self.b1 = _EfficientResBlock(c, group)
        self.c1, self.c2, self.c3 = _ConvReLU(2 * c, c), _ConvReLU(3 * c, c), _ConvReLU(4 * c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cat, o = x, x
        for fuse in (self.c1, self.c2, self.c3):
            cat = torch.cat([cat, self.b1(o)], dim=1)
            o = fuse(cat)
        return o


class _Upsample(nn.Module):
    def __init__(self, c: int, scale: int, group: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        steps = [3] if scale == 3 else [2] * int(math.log2(scale))
        for s in steps:
            layers += [nn.Conv2d(c, c * s * s, 3, 1, 1, groups=group), nn.ReLU(inplace=True), nn.PixelShuffle(s)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _MultiUpsample(nn.Module):
    def __init__(self, c: int, scales: tuple[int, ...], group: int) -> None:
        super().__init__()
        for s in scales:
            self.add_module(f"up{s}", _Upsample(c, s, group))


class CARNM(nn.Module):
    def __init__(self, scale: int, channels: int = 64, group: int = 4,
                 head_scales: tuple[int, ...] | list[int] = (2, 3, 4)) -> None:
        super().__init__()
        if scale not in head_scales:
            raise ValueError(f"CARN-M has no x{scale} head (heads: {tuple(head_scales)})")
        self.scale = scale
        c = channels
        self.sub_mean, self.add_mean = _MeanShift(-1), _MeanShift(+1)
        self.entry = nn.Conv2d(3, c, 3, 1, 1)
        self.b1, self.b2, self.b3 = (_CascadeBlock(c, group) for _ in range(3))
        self.c1, self.c2, self.c3 = _ConvReLU(2 * c, c), _ConvReLU(3 * c, c), _ConvReLU(4 * c, c)
        self.upsample = _MultiUpsample(c, tuple(head_scales), group)
        self.exit = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.entry(self.sub_mean(x))
        cat, o = x, x
        for block, fuse in ((self.b1, self.c1), (self.b2, self.c2), (self.b3, self.c3)):
            cat = torch.cat([cat, block(o)], dim=1)
            o = fuse(cat)
        out = getattr(self.upsample, f"up{self.scale}")(o)
        return self.add_mean(self.exit(out))


@register_arch("CARN-M", presets={"paper": {"channels": 64, "group": 4, "head_scales": [2, 3, 4]}},
               reference="Ahn et al., Fast, Accurate, and Lightweight Super-Resolution with Cascading Residual "
                         "Network, ECCV 2018 (CARN-M)", tags=("port", "pixelshuffle", "multiscale"))
def carn_m(scale: int, channels: int = 64, group: int = 4, *, head_scales: list[int] | tuple[int, ...] = (2, 3, 4)
           ) -> nn.Module:
    return CARNM(scale, channels, group, tuple(head_scales))
