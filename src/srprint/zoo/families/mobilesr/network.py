"""MobileSR port (NTIRE 2022 efficient-SR challenge, team 20).

A hybrid of window self-attention transformers (with a depthwise-conv positional embedding) and
inverted-residual conv blocks, a global fusion conv, 1x1-conv pixel-shuffle upsampling and a
bilinear global skip. Names follow the release (weights sit under ``net`` in its training checkpoint).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch

_REF = "MobileSR, NTIRE 2022 Challenge on Efficient Super-Resolution (team 20), CVPRW 2022"


class WindowSelfAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = (t.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)
                   for t in self.qkv(x).chunk(3, dim=-1))
        attn = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        return self.proj_out((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, ratio: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(dim, dim * ratio), nn.GELU(), nn.Linear(dim * ratio, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class WindowTransformer(nn.Module):
    """Positional depthwise conv, then pre-norm window attention (zero-padded to the window) and MLP."""

    def __init__(self, dim: int, num_heads: int, window: int, mlp_ratio: int) -> None:
        super().__init__()
        self.window = window
        self.pos_embed = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x + self.pos_embed(x)).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        ws = self.window
        y = F.pad(self.norm1(x), (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
        hp, wp = y.shape[1:3]
        y = y.reshape(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        y = self.attn(y).reshape(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        x = x + y.reshape(b, hp, wp, c)[:, :h, :w]
        x = x + self.mlp(self.norm2(x))
        return x.permute(0, 3, 1, 2)


class InvertedResidual(nn.Module):
    def __init__(self, dim: int, ratio: int) -> None:
        super().__init__()
        hid = dim * ratio
        self.net = nn.Sequential(
            nn.Conv2d(dim, hid, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(hid, hid, 3, padding=1, groups=hid), nn.LeakyReLU(0.2),
            nn.Conv2d(hid, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) + x


class Body(nn.Module):
    def __init__(self, dim: int, num_heads: int, window: int, ratios: tuple[int, ...]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([WindowTransformer(dim, num_heads, window, r), InvertedResidual(dim, r)]) for r in ratios
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for transformer, conv_block in self.layers:
            x = conv_block(transformer(x))
        return x


class MobileSR(nn.Module):
    def __init__(self, scale: int = 4, n_feats: int = 40, n_heads: int = 8, window: int = 8,
                 ratios: tuple[int, ...] = (4, 2, 2, 2, 4)) -> None:
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(3, n_feats, 3, 1, 1)
        self.body = Body(n_feats, n_heads, window, ratios)
        self.fuse = nn.Conv2d(n_feats * 2, n_feats, 3, 1, 1)
        ups: list[nn.Module] = []
        for f in (2, 2) if scale == 4 else (scale,):
            ups += [nn.Conv2d(n_feats, n_feats * f * f, 1), nn.PixelShuffle(f)]
        self.upsapling = nn.Sequential(*ups)  # (sic) release name
        self.tail = nn.Conv2d(n_feats, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head(x)
        f = self.upsapling(self.fuse(torch.cat([f, self.body(f)], dim=1)))
        skip = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.tail(F.leaky_relu(f, 0.2)) + skip


@register_arch("MobileSR", presets={"paper": {"n_feats": 40, "n_heads": 8, "window": 8, "ratios": [4, 2, 2, 2, 4]}},
               scales=(2, 3, 4), reference=_REF, tags=("port",))
def mobilesr(scale: int, n_feats: int = 40, n_heads: int = 8, *, window: int = 8,
             ratios: tuple[int, ...] | list[int] = (4, 2, 2, 2, 4)) -> nn.Module:
    return MobileSR(scale, n_feats, n_heads, window, tuple(ratios))
