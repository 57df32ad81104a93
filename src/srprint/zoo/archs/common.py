"""Building blocks shared by several architectures (as in the EDSR code base)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

# DIV2K RGB mean used by EDSR/RCAN/NLSN/RDN's MeanShift (in [0,1]).
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def conv3x3(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=bias)


class MeanShift(nn.Module):
    """Subtract (sign=-1) or add (sign=+1) the dataset RGB mean; fixed, not trained."""

    def __init__(self, sign: int, mean: tuple[float, float, float] = DIV2K_RGB_MEAN) -> None:
        super().__init__()
        self.register_buffer("shift", sign * torch.tensor(mean).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.shift


class Upsampler(nn.Sequential):
    """Pixel-shuffle upsampler: log2(scale) x (conv -> PixelShuffle(2)) or one x3 stage."""

    def __init__(self, scale: int, n_feats: int) -> None:
        layers: list[nn.Module] = []
        if scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [conv3x3(n_feats, 4 * n_feats), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [conv3x3(n_feats, 9 * n_feats), nn.PixelShuffle(3)]
        else:
            raise ValueError(f"unsupported scale {scale}")
        super().__init__(*layers)


class ResBlock(nn.Module):
    """EDSR residual block: conv-ReLU-conv, scaled residual, no batch norm."""

    def __init__(self, n_feats: int, res_scale: float = 1.0) -> None:
        super().__init__()
        self.body = nn.Sequential(conv3x3(n_feats, n_feats), nn.ReLU(inplace=True), conv3x3(n_feats, n_feats))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


class MeanShiftedResidualNet(nn.Module):
    """EDSR's frame, which NLSN keeps: mean shift, a 3x3 head, a residual body, a pixel-shuffle tail.

    ``make_body()`` builds the body's blocks; a final 3x3 conv is appended. Modules are created in
    the order head, body, tail, so a seeded build gives the same weights as the original code.
    """

    def __init__(self, scale: int, n_feats: int, make_body: Callable[[], list[nn.Module]]) -> None:
        super().__init__()
        self.scale = scale
        self.sub_mean, self.add_mean = MeanShift(-1), MeanShift(+1)
        self.head = conv3x3(3, n_feats)
        self.body = nn.Sequential(*make_body(), conv3x3(n_feats, n_feats))
        self.tail = nn.Sequential(Upsampler(scale, n_feats), conv3x3(n_feats, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))


class NamedConv3x3(nn.Module):
    """One 3x3 conv kept under the name a published checkpoint gives it.

    Re-parameterised blocks end as a single conv, which FMEN calls ``rep_conv`` and SPAN
    ``eval_conv``; the wrapper keeps that key so the published state dicts load as they are.
    """

    def __init__(self, cin: int, cout: int, name: str) -> None:
        super().__init__()
        self._conv_name = name
        self.add_module(name, nn.Conv2d(cin, cout, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self._conv_name)(x)
