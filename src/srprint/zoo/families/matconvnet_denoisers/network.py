"""Ports of the original MatConvNet denoisers (K. Zhang et al.): DnCNN (CDnCNN-B, DnCNN-3) and FFDNet.

* ``DnCNN-MCN``: ``depth`` 3x3 convs with ReLU between (batch norm already folded into the convs by
  the authors), residual: the network predicts the noise, so zoo entries record ``residual=True``.
  ``colours=3`` is CDnCNN-B (blind colour AWGN); ``colours=1`` is DnCNN-3 (luma; denoising,
  pre-upsampled SR and JPEG deblocking in one model).
* ``FFDNet``: pixel-unshuffle x2, concatenation with a constant noise-level map, ``depth`` 3x3 convs
  (ReLU between), pixel-shuffle x2; predicts the clean image. srprint's one-image interface has no
  noise-level input, so the level is fixed in the config (``sigma`` on the 0-255 scale, e.g. 25) and
  the map is built inside the module. Odd sizes are padded by edge replication and cropped back.

Weights come from :mod:`srprint.zoo.imports.readers_matconvnet`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...archs import register_arch

_DNCNN_REF = "Zhang et al., Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image Denoising, TIP 2017"
_FFDNET_REF = "Zhang et al., FFDNet: Toward a Fast and Flexible Solution for CNN-based Image Denoising, TIP 2018"


def _plain_convs(cin: int, features: int, cout: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, features, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU()]
    layers.append(nn.Conv2d(features, cout, 3, padding=1))
    return nn.Sequential(*layers)


class DnCNN(nn.Module):
    """Returns the predicted noise (``SRModel`` with ``residual=True`` subtracts it)."""

    def __init__(self, colours: int = 3, features: int = 64, depth: int = 20) -> None:
        super().__init__()
        self.body = _plain_convs(colours, features, colours, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class FFDNet(nn.Module):
    def __init__(self, colours: int = 3, features: int = 96, depth: int = 12, sigma: float = 25.0) -> None:
        super().__init__()
        self.sigma = float(sigma)
        self.body = _plain_convs(colours * 4 + 1, features, colours * 4, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
        noise_map = x.new_full((x.shape[0], 1, x.shape[2] // 2, x.shape[3] // 2), self.sigma / 255.0)
        y = self.body(torch.cat([F.pixel_unshuffle(x, 2), noise_map], dim=1))
        return F.pixel_shuffle(y, 2)[..., :h, :w]


@register_arch("DnCNN-MCN", presets={"paper": {"colours": 3, "features": 64, "depth": 20},
                                     "grey": {"colours": 1, "features": 64, "depth": 20}},
               scales=(1,), reference=_DNCNN_REF, tags=("port", "denoise"))
def dncnn_mcn(scale: int, colours: int = 3, features: int = 64, *, depth: int = 20) -> nn.Module:
    return DnCNN(colours, features, depth)


@register_arch("FFDNet", presets={"paper": {"colours": 3, "features": 96, "depth": 12, "sigma": 25.0}},
               scales=(1,), reference=_FFDNET_REF, tags=("port", "denoise"))
def ffdnet(scale: int, colours: int = 3, features: int = 96, *, depth: int = 12, sigma: float = 25.0) -> nn.Module:
    return FFDNet(colours, features, depth, sigma)
