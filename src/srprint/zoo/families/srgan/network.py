"""SRResNet-style GAN generators: SRGAN (Ledig et al., CVPR 2017) as released by leftthomas/SRGAN
(early version: 5 residual blocks, conv+PReLU before the skip, output (tanh+1)/2), and the PyTorch
Fast-SRGAN generator (8 residual blocks with instance norm, inputs and outputs in [-1, 1]).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...archs import register_arch


class _SRGANResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.prelu = nn.PReLU()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.conv2(self.prelu(self.bn1(self.conv1(x)))))


class _ShuffleUp(nn.Module):
    """conv -> PixelShuffle(2) -> PReLU."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c * 4, 3, padding=1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.prelu = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.pixel_shuffle(self.conv(x)))


class SRGANGenerator(nn.Module):
    """leftthomas/SRGAN generator with ``block1`` ... ``block8`` names; output in [0, 1]."""

    def __init__(self, scale: int, n_blocks: int = 5, channels: int = 64) -> None:
        super().__init__()
        c = channels
        self.n_blocks = n_blocks
        self.block1 = nn.Sequential(nn.Conv2d(3, c, 9, padding=4), nn.PReLU())
        for i in range(n_blocks):
            self.add_module(f"block{i + 2}", _SRGANResBlock(c))
        self.add_module(f"block{n_blocks + 2}", nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.PReLU()))
        ups: list[nn.Module] = [_ShuffleUp(c) for _ in range(int(math.log2(scale)))]
        self.add_module(f"block{n_blocks + 3}", nn.Sequential(*ups, nn.Conv2d(c, 3, 9, padding=4)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.block1(x)
        h = head
        for i in range(self.n_blocks + 1):
            h = getattr(self, f"block{i + 2}")(h)
        out = getattr(self, f"block{self.n_blocks + 3}")(head + h)
        return (torch.tanh(out) + 1) / 2


class _FastResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.InstanceNorm2d(c)
        self.relu1 = nn.PReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.InstanceNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))) + x


class _FastUp(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c * 4, 3, padding=1)
        self.phase_shift = nn.PixelShuffle(2)
        self.relu = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.phase_shift(self.conv(x)))


class FastSRGANGenerator(nn.Module):
    """Fast-SRGAN (PyTorch release) generator; expects input in [-1, 1], returns tanh output."""

    def __init__(self, scale: int, n_filters: int = 64, n_layers: int = 8) -> None:
        super().__init__()
        c = n_filters
        self.neck = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.PReLU())
        self.stem = nn.Sequential(*[_FastResBlock(c) for _ in range(n_layers)])
        self.bottleneck = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.InstanceNorm2d(c))
        self.upsampling = nn.Sequential(*[_FastUp(c) for _ in range(int(math.log2(scale)))])
        self.head = nn.Sequential(nn.Conv2d(c, 3, 3, padding=1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.neck(x)
        return self.head(self.upsampling(self.bottleneck(self.stem(res)) + res))


@register_arch("SRGAN-SRResNet", presets={"paper": {"n_blocks": 16, "channels": 64},
                                          "leftthomas": {"n_blocks": 5, "channels": 64}},
               scales=(2, 4, 8), reference="Ledig et al., Photo-Realistic Single Image Super-Resolution Using a "
                                          "Generative Adversarial Network, CVPR 2017", tags=("port", "gan"))
def srgan_srresnet(scale: int, n_blocks: int = 16, channels: int = 64) -> nn.Module:
    return SRGANGenerator(scale, n_blocks, channels)


@register_arch("Fast-SRGAN-SRResNet", presets={"paper": {"n_filters": 64, "n_layers": 8}}, scales=(2, 4, 8),
               reference="HasnainRaz/Fast-SRGAN (PyTorch release): SRGAN-style generator for real-time SR",
               tags=("port", "gan"))
def fast_srgan(scale: int, n_filters: int = 64, n_layers: int = 8) -> nn.Module:
    return FastSRGANGenerator(scale, n_filters, n_layers)
