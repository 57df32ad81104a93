"""Ports of the ESA-based efficient SR family: RFDN (Liu et al., ECCVW 2020) and RLFN (Kong et al.,
CVPRW 2022), including RLFN-S and the NTIRE 2022 RLFN variant.

Both end every block with enhanced spatial attention (ESA): a strided, max-pooled low-resolution
branch produces a sigmoid mask. Parameter names follow the official releases.

The ESA branch (3x3 stride-2 conv, then a 7x7 stride-3 max-pool) needs at least
:data:`ESA_MIN_SIZE` = 15 px per side (60 px of output at x4); the official code crashes below that.
The ports replicate-pad smaller inputs (bottom/right) up to 15 px and crop the output back: the trunk
convs are local and the ESA mask is coarse, so this only extends the model to tiny inputs; inputs of
15 px or more are untouched (bit-identical to the official forward).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch


def _conv(cin: int, cout: int, k: int, stride: int = 1, padding: int | None = None) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, padding=(k - 1) // 2 if padding is None else padding)


ESA_MIN_SIZE = 15  # smallest side the ESA branch accepts: (15 - 3) // 2 + 1 = 7 = max-pool kernel


def _pad_to_min(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """Replicate-pad ``x`` (bottom/right) so both sides are at least :data:`ESA_MIN_SIZE`."""
    h, w = x.shape[-2:]
    ph, pw = max(0, ESA_MIN_SIZE - h), max(0, ESA_MIN_SIZE - w)
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, h, w


class ESA(nn.Module):
    """Enhanced spatial attention; ``rfdn=True`` adds RFDN's extra conv_max / conv3_ pair."""

    def __init__(self, n_feats: int, f: int, rfdn: bool = False) -> None:
        super().__init__()
        self.rfdn = rfdn
        self.conv1 = _conv(n_feats, f, 1)
        self.conv_f = _conv(f, f, 1)
        self.conv2 = _conv(f, f, 3, stride=2, padding=0)
        self.conv3 = _conv(f, f, 3)
        if rfdn:
            self.conv_max = _conv(f, f, 3)
            self.conv3_ = _conv(f, f, 3)
        self.conv4 = _conv(f, n_feats, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1_ = self.conv1(x)
        c1 = self.conv2(c1_)
        v = F.max_pool2d(c1, kernel_size=7, stride=3)
        if self.rfdn:
            v = F.relu(self.conv_max(v))
            c3 = self.conv3_(F.relu(self.conv3(v)))
        else:
            c3 = self.conv3(v)
        c3 = F.interpolate(c3, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class RFDB(nn.Module):
    """Residual feature distillation block (shallow residual refinement + 1x1 distillation)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        dc = c // 2
        for i in (1, 2, 3):
            self.add_module(f"c{i}_d", _conv(c, dc, 1))
            self.add_module(f"c{i}_r", _conv(c, c, 3))
        self.c4 = _conv(c, dc, 3)
        self.c5 = _conv(dc * 4, c, 1)
        self.esa = ESA(c, c // 4, rfdn=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distilled, r = [], x
        for i in (1, 2, 3):
            distilled.append(F.leaky_relu(getattr(self, f"c{i}_d")(r), 0.05))
            r = F.leaky_relu(getattr(self, f"c{i}_r")(r) + r, 0.05)
        distilled.append(F.leaky_relu(self.c4(r), 0.05))
        return self.esa(self.c5(torch.cat(distilled, dim=1)))


class RFDN(nn.Module):
    def __init__(self, scale: int, nf: int = 50, num_modules: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.num_modules = num_modules
        self.fea_conv = _conv(3, nf, 3)
        for i in range(num_modules):
            self.add_module(f"B{i + 1}", RFDB(nf))
        self.c = nn.Sequential(_conv(nf * num_modules, nf, 1), nn.LeakyReLU(0.05))
        self.LR_conv = _conv(nf, nf, 3)
        self.upsampler = nn.Sequential(_conv(nf, 3 * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h0, w0 = _pad_to_min(x)
        fea = self.fea_conv(x)
        outs, h = [], fea
        for i in range(self.num_modules):
            h = getattr(self, f"B{i + 1}")(h)
            outs.append(h)
        y = self.upsampler(self.LR_conv(self.c(torch.cat(outs, dim=1))) + fea)
        return y[..., : h0 * self.scale, : w0 * self.scale]


class RLFB(nn.Module):
    """Residual local feature block: three conv+LReLU, a local residual, 1x1 conv, ESA."""

    def __init__(self, c: int, mid: int, esa_channels: int = 16) -> None:
        super().__init__()
        self.c1_r = _conv(c, mid, 3)
        self.c2_r = _conv(mid, mid, 3)
        self.c3_r = _conv(mid, c, 3)
        self.c5 = _conv(c, c, 1)
        self.esa = ESA(c, esa_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.c1_r(x), 0.05)
        out = F.leaky_relu(self.c2_r(out), 0.05)
        out = F.leaky_relu(self.c3_r(out), 0.05)
        return self.esa(self.c5(out + x))


class RLFN(nn.Module):
    def __init__(self, scale: int, feature_channels: int = 52, mid_channels: int | None = None,
                 num_blocks: int = 6, esa_channels: int = 16) -> None:
        super().__init__()
        self.scale = scale
        self.num_blocks = num_blocks
        mid = mid_channels or feature_channels
        self.conv_1 = _conv(3, feature_channels, 3)
        for i in range(num_blocks):
            self.add_module(f"block_{i + 1}", RLFB(feature_channels, mid, esa_channels))
        self.conv_2 = _conv(feature_channels, feature_channels, 3)
        self.upsampler = nn.Sequential(_conv(feature_channels, 3 * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h0, w0 = _pad_to_min(x)
        fea = self.conv_1(x)
        h = fea
        for i in range(self.num_blocks):
            h = getattr(self, f"block_{i + 1}")(h)
        y = self.upsampler(self.conv_2(h) + fea)
        return y[..., : h0 * self.scale, : w0 * self.scale]


_RFDN_REF = "Liu et al., Residual Feature Distillation Network for Lightweight Image Super-Resolution, ECCVW 2020"
_RLFN_REF = "Kong et al., Residual Local Feature Network for Efficient Super-Resolution, CVPRW 2022"


@register_arch("RFDN", presets={"paper": {"nf": 50, "num_modules": 4}, "tiny": {"nf": 32, "num_modules": 4}},
               reference=_RFDN_REF, tags=("port", "pixelshuffle", "attention"))
def rfdn(scale: int, nf: int = 50, num_modules: int = 4) -> nn.Module:
    return RFDN(scale, nf, num_modules)


def _rlfn(scale: int, feature_channels: int = 52, mid_channels: int | None = None, num_blocks: int = 6,
          esa_channels: int = 16) -> nn.Module:
    return RLFN(scale, feature_channels, mid_channels, num_blocks, esa_channels)


register_arch("RLFN", presets={"paper": {"feature_channels": 52, "num_blocks": 6},
                               "tiny": {"feature_channels": 32, "num_blocks": 4}},
              reference=_RLFN_REF, tags=("port", "pixelshuffle", "attention"))(_rlfn)
register_arch("RLFN_S", presets={"paper": {"feature_channels": 48, "num_blocks": 6}},
              reference=_RLFN_REF + " (RLFN-S)", tags=("port", "pixelshuffle", "attention"))(_rlfn)
register_arch("RLFN_ntire", presets={"paper": {"feature_channels": 46, "mid_channels": 48, "num_blocks": 4}},
              reference=_RLFN_REF + " (NTIRE 2022 ESR entry)", tags=("port", "pixelshuffle", "attention"))(_rlfn)
