"""IMDN family ports (Hui et al., ACM MM 2019): IMDN, IMDN_AS, IMDN_RTC, IMDN_RTE.

Information multi-distillation: each block splits its features into a distilled part (kept) and a
remaining part (refined further); the distilled parts are concatenated and fused by a 1x1 conv.
Module and parameter names follow the official release so its state dicts load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch

_IMDN_REF = "Hui et al., Lightweight Image Super-Resolution with Information Multi-distillation Network, ACM MM 2019"


def _conv(cin: int, cout: int, k: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, padding=(k - 1) // 2, bias=bias)


def _pixelshuffle_up(cin: int, cout: int, factor: int) -> nn.Sequential:
    return nn.Sequential(_conv(cin, cout * factor * factor, 3), nn.PixelShuffle(factor))


class ContrastChannelAttention(nn.Module):
    """Channel attention driven by per-channel contrast (std) plus mean."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        return x * self.conv_du(std + mean)


class IMDBlock(nn.Module):
    """Information multi-distillation block (``attention=False``: the RTC 'speed' variant)."""

    def __init__(self, channels: int, distill_rate: float = 0.25, attention: bool = True) -> None:
        super().__init__()
        self.dc = int(channels * distill_rate)
        self.rc = channels - self.dc
        self.c1 = _conv(channels, channels, 3)
        self.c2 = _conv(self.rc, channels, 3)
        self.c3 = _conv(self.rc, channels, 3)
        self.c4 = _conv(self.rc, self.dc, 3)
        self.c5 = _conv(self.dc * 4, channels, 1)
        self.cca = ContrastChannelAttention(self.dc * 4) if attention else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1, r = torch.split(F.leaky_relu(self.c1(x), 0.05), (self.dc, self.rc), dim=1)
        d2, r = torch.split(F.leaky_relu(self.c2(r), 0.05), (self.dc, self.rc), dim=1)
        d3, r = torch.split(F.leaky_relu(self.c3(r), 0.05), (self.dc, self.rc), dim=1)
        out = torch.cat([d1, d2, d3, self.c4(r)], dim=1)
        if self.cca is not None:
            out = self.cca(out)
        return self.c5(out) + x


class IMDN(nn.Module):
    """IMDN; ``downsample_input=True`` gives IMDN_AS (two stride-2 convs, same-size output at x4)."""

    def __init__(self, scale: int, nf: int = 64, num_modules: int = 6, downsample_input: bool = False,
                 up_factor: int | None = None) -> None:
        super().__init__()
        self.num_modules = num_modules
        if downsample_input:
            self.fea_conv: nn.Module = nn.Sequential(_conv(3, nf, 3, 2), nn.LeakyReLU(0.05), _conv(nf, nf, 3, 2))
        else:
            self.fea_conv = _conv(3, nf, 3)
        for i in range(num_modules):
            self.add_module(f"IMDB{i + 1}", IMDBlock(nf))
        self.c = nn.Sequential(_conv(nf * num_modules, nf, 1), nn.LeakyReLU(0.05))
        self.LR_conv = _conv(nf, nf, 3)
        self.upsampler = _pixelshuffle_up(nf, 3, up_factor or scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.fea_conv(x)
        outs, h = [], fea
        for i in range(self.num_modules):
            h = getattr(self, f"IMDB{i + 1}")(h)
            outs.append(h)
        return self.upsampler(self.LR_conv(self.c(torch.cat(outs, dim=1))) + fea)


class IMDNAS(IMDN):
    """IMDN_AS (RealSR protocol): takes the LR image at HR size; here the LR input is
    bicubic-upsampled by ``scale`` inside, padded to a multiple of 4, and cropped back."""

    def __init__(self, scale: int, nf: int = 64, num_modules: int = 6) -> None:
        super().__init__(scale, nf, num_modules, downsample_input=True, up_factor=4)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from ....degradation import bicubic_upscale

        up = bicubic_upscale(x, self.scale)
        h, w = up.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            up = F.pad(up, (0, pw, 0, ph), mode="replicate")
        return super().forward(up)[..., :h, :w]


class IMDNSpeed(nn.Sequential):
    """IMDN_RTC: tiny IMDN without attention, one global shortcut (official flat layout)."""

    def __init__(self, scale: int, nf: int = 12, num_modules: int = 5) -> None:
        body = nn.Sequential(*[IMDBlock(nf, attention=False) for _ in range(num_modules)], _conv(nf, nf, 1))
        super().__init__(_conv(3, nf, 3), _Shortcut(body), _conv(nf, 3 * scale * scale, 3), nn.PixelShuffle(scale))


class _Shortcut(nn.Module):
    def __init__(self, sub: nn.Module) -> None:
        super().__init__()
        self.sub = sub

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sub(x)


class IMDBlockLarge(nn.Module):
    """IMDN_RTE block: six progressive distillation steps, ReLU, no biases."""

    def __init__(self, channels: int, distill_rate: float = 0.25) -> None:
        super().__init__()
        d = int(channels * distill_rate)
        r = channels - d
        self.d, self.r = d, r
        self.c1 = _conv(channels, channels, 3, bias=False)
        self.c2 = _conv(r, channels, 3, bias=False)
        self.c3 = _conv(r, channels, 3, bias=False)
        self.c4 = _conv(r, r, 3, bias=False)
        self.c5 = _conv(r - d, r - d, 3, bias=False)
        self.c6 = _conv(d, d, 3, bias=False)
        self.c7 = _conv(d * 6, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d, r = self.d, self.r
        d1, x1 = torch.split(F.relu(self.c1(x)), (d, r), dim=1)
        d2, x2 = torch.split(F.relu(self.c2(x1)), (d, r), dim=1)
        d3, x3 = torch.split(F.relu(self.c3(x2)), (d, r), dim=1)
        d4, x4 = torch.split(F.relu(self.c4(x3)), (d, r - d), dim=1)
        d5, x5 = torch.split(F.relu(self.c5(x4)), (d, r - 2 * d), dim=1)
        out = torch.cat([d1, d2, d3, d4, d5, F.relu(self.c6(x5))], dim=1)
        return self.c7(out) + x


class IMDNRTE(nn.Module):
    """IMDN_RTE: stride-2 head, six large distillation blocks, x(2*scale) pixel shuffle."""

    def __init__(self, scale: int, nf: int = 20, num_modules: int = 6) -> None:
        super().__init__()
        self.num_modules = num_modules
        self.fea_conv = nn.Sequential(_conv(3, nf, 3), nn.ReLU(inplace=True), _conv(nf, nf, 3, 2, bias=False))
        for i in range(num_modules):
            self.add_module(f"block{i + 1}", IMDBlockLarge(nf))
        self.LR_conv = _conv(nf, nf, 1, bias=False)
        self.upsampler = _pixelshuffle_up(nf, 3, scale * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        xp = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate") if (h % 2 or w % 2) else x
        fea = self.fea_conv(xp)
        out = fea
        for i in range(self.num_modules):
            out = getattr(self, f"block{i + 1}")(out)
        y = self.upsampler(self.LR_conv(out) + fea)
        s = y.shape[-1] // xp.shape[-1]
        return y[..., : h * s, : w * s]


@register_arch("IMDN", presets={"paper": {"nf": 64, "num_modules": 6}, "tiny": {"nf": 32, "num_modules": 4}},
               reference=_IMDN_REF, tags=("port", "pixelshuffle"))
def imdn(scale: int, nf: int = 64, num_modules: int = 6) -> nn.Module:
    return IMDN(scale, nf, num_modules)


@register_arch("IMDN_AS", presets={"paper": {"nf": 64, "num_modules": 6}}, scales=(4,),
               reference=_IMDN_REF + " (arbitrary-size variant, RealSR)", tags=("port", "preupsample"))
def imdn_as(scale: int, nf: int = 64, num_modules: int = 6) -> nn.Module:
    """Input: the LR image bicubic-upsampled to HR size (done inside), output at HR size."""
    return IMDNAS(scale, nf, num_modules)


@register_arch("IMDN_RTC", presets={"paper": {"nf": 12, "num_modules": 5}}, scales=(2, 3, 4),
               reference=_IMDN_REF + " (AI in RTC 2019 challenge variant)", tags=("port", "pixelshuffle"))
def imdn_rtc(scale: int, nf: int = 12, num_modules: int = 5) -> nn.Module:
    return IMDNSpeed(scale, nf, num_modules)


@register_arch("IMDN_RTE", presets={"paper": {"nf": 20, "num_modules": 6}}, scales=(2, 3, 4),
               reference=_IMDN_REF + " (AI in RTE 2020 challenge variant)", tags=("port", "pixelshuffle"))
def imdn_rte(scale: int, nf: int = 20, num_modules: int = 6) -> nn.Module:
    return IMDNRTE(scale, nf, num_modules)
