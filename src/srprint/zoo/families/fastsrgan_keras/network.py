"""Fast-SRGAN generator, original Keras/TensorFlow version (HasnainRaz/Fast-SRGAN, before its 2024 PyTorch move).

SRGAN-style generator built from MobileNetV2 inverted-residual blocks: conv3x3 + BN + PReLU head,
``n_blocks`` inverted residuals (the first without expansion, as MobileNetV2's ``expanded_conv``),
conv3x3 + BN with a skip to the head, then two (conv3x3 -> depth-to-space x2 -> PReLU) upsampling
stages and a conv3x3 + ``tanh`` output. This Keras release takes LR input in ``[0, 1]``
(``tf.image.convert_image_dtype``) and produces ``[-1, 1]`` (HR targets were scaled to ``[-1, 1]``);
verified by PSNR on Set5. The port maps the output back, ``(tanh + 1) / 2``, so it is ``[0,1] -> [0,1]``.
Keras BatchNorms are kept (eval-mode running statistics, eps 1e-3).
Weights come from :mod:`srprint.zoo.imports.readers_keras`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...archs import register_arch

_REF = "Fast-SRGAN (H. Raza), MobileNetV2-block SRGAN generator for real-time SR, github.com/HasnainRaz/Fast-SRGAN"


class InvertedResidual(nn.Module):
    """[1x1 expand + BN + ReLU] -> depthwise 3x3 + BN + ReLU -> 1x1 project + BN, plus identity."""

    def __init__(self, channels: int, expansion: int, eps: float) -> None:
        super().__init__()
        hid = channels * expansion
        self.expand = nn.Conv2d(channels, hid, 1) if expansion != 1 else None
        self.expand_bn = nn.BatchNorm2d(hid, eps=eps) if expansion != 1 else None
        self.depthwise = nn.Conv2d(hid, hid, 3, padding=1, groups=hid)
        self.depthwise_bn = nn.BatchNorm2d(hid, eps=eps)
        self.project = nn.Conv2d(hid, channels, 1)
        self.project_bn = nn.BatchNorm2d(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.expand is not None and self.expand_bn is not None:
            h = torch.relu(self.expand_bn(self.expand(h)))
        h = torch.relu(self.depthwise_bn(self.depthwise(h)))
        return x + self.project_bn(self.project(h))


class FastSRGANKeras(nn.Module):
    def __init__(self, scale: int = 4, filters: int = 32, n_blocks: int = 6, expansion: int = 6,
                 eps: float = 1e-3) -> None:
        super().__init__()
        stages = int(round(math.log2(scale)))
        if 2**stages != scale:
            raise ValueError(f"Fast-SRGAN needs a power-of-two scale, got {scale}")
        self.head = nn.Conv2d(3, filters, 3, padding=1)
        self.head_bn = nn.BatchNorm2d(filters, eps=eps)
        self.head_act = nn.PReLU(filters)
        self.blocks = nn.Sequential(
            *[InvertedResidual(filters, 1 if i == 0 else expansion, eps) for i in range(n_blocks)]
        )
        self.trunk = nn.Conv2d(filters, filters, 3, padding=1)
        self.trunk_bn = nn.BatchNorm2d(filters, eps=eps)
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(filters, filters * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(filters))
            for _ in range(stages)
        ])
        self.tail = nn.Conv2d(filters, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head_act(self.head_bn(self.head(x)))
        h = self.trunk_bn(self.trunk(self.blocks(h))) + h
        return (torch.tanh(self.tail(self.upsample(h))) + 1.0) / 2.0


@register_arch("FastSRGAN-Keras", presets={"paper": {"filters": 32, "n_blocks": 6, "expansion": 6, "eps": 1e-3}},
               scales=(2, 4, 8), reference=_REF, tags=("port", "gan"))
def fastsrgan_keras(scale: int, filters: int = 32, n_blocks: int = 6, *, expansion: int = 6,
                    eps: float = 1e-3) -> nn.Module:
    return FastSRGANKeras(scale, filters, n_blocks, expansion, eps)
