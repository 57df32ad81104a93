"""LapSRN port (Lai et al., CVPR 2017) in the form of OpenCV's ``dnn_superres`` TensorFlow models.

Y-channel Laplacian pyramid, one x2 level per octave. Each level has a feature branch (a 3x3 conv
from one channel, ``depth`` 3x3 convs at ``channels``, then a 4x4 conv + depth-to-space to a one-
channel residual) and an image branch (4x4 conv + depth-to-space of the previous image); the level
output is ``lrelu(upsampled image + lrelu(residual))``. In this export the next level's feature
branch starts from the previous level's residual (``level_input="residual"``). Every activation is
LeakyReLU(0.2), including the one on each level's output image. 4x4 convs use TensorFlow 'SAME'
padding (1 before, 2 after). Weights come from :mod:`srprint.zoo.imports.readers_tf`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch

_REF = "Lai et al., Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution, CVPR 2017"


def tf_same_pad(x: torch.Tensor, k: int) -> torch.Tensor:
    """Zero-pad like TensorFlow's stride-1 'SAME' convolution (the extra pixel goes after)."""
    before = (k - 1) // 2
    after = k - 1 - before
    return F.pad(x, (before, after, before, after))


class LapSRNLevel(nn.Module):
    def __init__(self, channels: int, depth: int, up_kernel: int) -> None:
        super().__init__()
        self.up_kernel = up_kernel
        self.first = nn.Conv2d(1, channels, 3, padding=1)
        self.body = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1) for _ in range(depth)])
        self.residual_up = nn.Conv2d(channels, 4, up_kernel, bias=False)
        self.image_up = nn.Conv2d(1, 4, up_kernel, bias=False)


class LapSRN(nn.Module):
    def __init__(self, scale: int, channels: int = 64, depth: int = 9, up_kernel: int = 4, slope: float = 0.2,
                 level_input: str = "residual") -> None:
        super().__init__()
        levels = int(round(math.log2(scale)))
        if 2**levels != scale:
            raise ValueError(f"LapSRN needs a power-of-two scale, got {scale}")
        self.slope = slope
        self.level_input = level_input
        self.levels = nn.ModuleList([LapSRNLevel(channels, depth, up_kernel) for _ in range(levels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, self.slope)  # noqa: E731
        image, feat_in = x, x
        for level in self.levels:
            f = act(level.first(feat_in))
            for conv in level.body:
                f = act(conv(f))
            residual = act(F.pixel_shuffle(level.residual_up(tf_same_pad(f, level.up_kernel)), 2))
            upsampled = F.pixel_shuffle(level.image_up(tf_same_pad(image, level.up_kernel)), 2)
            image = act(upsampled + residual)
            feat_in = residual if self.level_input == "residual" else image
        return image


@register_arch("LapSRN", presets={"paper": {"channels": 64, "depth": 9, "up_kernel": 4, "slope": 0.2,
                                            "level_input": "residual"}},
               scales=(2, 4, 8), reference=_REF, tags=("port", "grey"))
def lapsrn(scale: int, channels: int = 64, depth: int = 9, *, up_kernel: int = 4, slope: float = 0.2,
           level_input: str = "residual") -> nn.Module:
    return LapSRN(scale, channels, depth, up_kernel, slope, level_input)
