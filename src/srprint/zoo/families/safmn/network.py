"""SAFMN port, NTIRE 2023 efficient-SR variant (Sun et al., ICCV 2023; challenge team 15).

Differs from the official SAFMN (which spandrel knows): a GRN (global response normalisation) after
the first conv instead of per-block LayerNorms, bias-free convs inside the blocks, a coarser pooling
pyramid (``h // 2**(i+1)``) and a bilinear global skip. Names follow that release.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch

_REF = "Sun et al., Spatially-Adaptive Feature Modulation for Efficient Image Super-Resolution, ICCV 2023"


class GRN(nn.Module):
    """Global response normalisation (ConvNeXt-V2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, dim, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = torch.norm(x, p=2, dim=(2, 3), keepdim=True)
        nx = gx / (gx.mean(dim=1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class SAFM(nn.Module):
    """Spatially-adaptive feature modulation over ``levels`` max-pooled scales."""

    def __init__(self, dim: int, levels: int = 4) -> None:
        super().__init__()
        self.levels = levels
        c = dim // levels
        self.mfr = nn.ModuleList([nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False) for _ in range(levels)])
        self.aggr = nn.Conv2d(dim, dim, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        out = []
        for i, xc in enumerate(x.chunk(self.levels, dim=1)):
            if i == 0:
                out.append(self.mfr[0](xc))
            else:
                # at least 1x1 so inputs under 16 px (where the release fails) still run
                s = F.adaptive_max_pool2d(xc, (max(1, h // 2 ** (i + 1)), max(1, w // 2 ** (i + 1))))
                out.append(F.interpolate(self.mfr[i](s), size=(h, w), mode="nearest"))
        return F.gelu(self.aggr(torch.cat(out, dim=1))) * x


class CCM(nn.Module):
    def __init__(self, dim: int, growth: float) -> None:
        super().__init__()
        hid = int(dim * growth)
        self.ccm = nn.Sequential(nn.Conv2d(dim, hid, 3, 1, 1, bias=False), nn.GELU(),
                                 nn.Conv2d(hid, dim, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ccm(x)


class AttBlock(nn.Module):
    def __init__(self, dim: int, ffn_scale: float) -> None:
        super().__init__()
        self.safm = SAFM(dim)
        self.ccm = CCM(dim, ffn_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.safm(x) + x
        return self.ccm(x) + x


class SAFMN(nn.Module):
    def __init__(self, scale: int = 4, dim: int = 36, n_blocks: int = 8, ffn_scale: float = 2.0) -> None:
        super().__init__()
        self.scale = scale
        self.norm = GRN(dim)
        self.to_feat = nn.Conv2d(3, dim, 3, 1, 1)
        self.feats = nn.Sequential(*[AttBlock(dim, ffn_scale) for _ in range(n_blocks)])
        self.to_img = nn.Sequential(nn.Conv2d(dim, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.to_img(self.feats(self.norm(self.to_feat(x)))) + skip


@register_arch("SAFMN-NTIRE23", presets={"paper": {"dim": 36, "n_blocks": 8, "ffn_scale": 2.0}},
               scales=(2, 3, 4), reference=_REF, tags=("port",))
def safmn_ntire23(scale: int, dim: int = 36, n_blocks: int = 8, *, ffn_scale: float = 2.0) -> nn.Module:
    return SAFMN(scale, dim, n_blocks, ffn_scale)
