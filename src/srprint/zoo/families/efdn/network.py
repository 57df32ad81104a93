"""EFDN port (Wang, CVPRW 2022), the re-parameterised (deploy) form submitted to NTIRE 2022 (team 01).

Edge-enhanced feature distillation: cells of 1x1 conv + two re-parameterised 3x3 convs (PReLU),
four 1x1 branch taps fused by a 1x1 conv and an ESA mask; cells chained with local fusion convs.
The release clamps its output to ``[0, 1]``. Names follow that release.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch

_REF = "Wang, Edge-enhanced Feature Distillation Network for Efficient Super-Resolution, CVPRW 2022"


class ConvAct(nn.Module):
    """``k x k`` conv + per-channel PReLU; ``conv_name`` keeps the release's parameter names."""

    def __init__(self, channels: int, k: int, conv_name: str) -> None:
        super().__init__()
        self.conv_name = conv_name
        self.add_module(conv_name, nn.Conv2d(channels, channels, k, 1, k // 2))
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(getattr(self, self.conv_name)(x))


class ESA(nn.Module):
    """Enhanced spatial attention (RFDN style, plain convs, ReLU)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        f = channels // 4
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1_ = self.conv1(x)
        v = self.conv2(c1_)
        # 7x7 pooling as released; shrunk on tiny inputs (< 17 px), where the original fails
        v = F.max_pool2d(v, kernel_size=min(7, *v.shape[-2:]), stride=3)
        c3 = self.conv3_(F.relu(self.conv3(F.relu(self.conv_max(v)))))
        c3 = F.interpolate(c3, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class Cell(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvAct(channels, 1, "conv1x1")
        self.conv2 = ConvAct(channels, 3, "rep_conv")
        self.conv3 = ConvAct(channels, 3, "rep_conv")
        self.fuse = nn.Conv2d(channels * 2, channels, 1)
        self.att = ESA(channels)
        self.branch = nn.ModuleList([nn.Conv2d(channels, channels // 2, 1) for _ in range(4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o1 = self.conv1(x)
        o2 = self.conv2(o1)
        o3 = self.conv3(o2)
        taps = [b(t) for b, t in zip(self.branch, (x, o1, o2, o3), strict=True)]
        return self.att(self.fuse(torch.cat(taps, dim=1))) + x


class EFDN(nn.Module):
    def __init__(self, scale: int = 4, n_feats: int = 48) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, n_feats, 3, 1, 1)
        self.cells = nn.ModuleList([Cell(n_feats) for _ in range(4)])
        self.local_fuse = nn.ModuleList([nn.Conv2d(n_feats * 2, n_feats, 1) for _ in range(3)])
        self.tail = nn.Sequential(nn.Conv2d(n_feats, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o0 = self.head(x)
        o1 = self.cells[0](o0)
        o2 = self.cells[1](o1)
        o3 = self.cells[2](self.local_fuse[0](torch.cat([o1, o2], dim=1)))
        o4 = self.cells[3](self.local_fuse[1](torch.cat([o2, o3], dim=1)))
        o4 = self.local_fuse[2](torch.cat([o2, o4], dim=1))
        return self.tail(o4 + o0).clamp(0, 1)


@register_arch("EFDN", presets={"paper": {"n_feats": 48}}, scales=(2, 3, 4), reference=_REF, tags=("port",))
def efdn(scale: int, n_feats: int = 48) -> nn.Module:
    return EFDN(scale, n_feats)
