"""SwinIR (Liang et al., ICCV-W 2021), classical SR: residual Swin transformer blocks with shifted windows.

Network code from spandrel. ``paper`` is the classical-SR configuration (pixel-shuffle upsampler);
``tiny`` keeps the shifted-window RSTB topology but uses SwinIR's own lightweight
"pixelshuffledirect" upsampler, since the classical one alone has ~300k parameters at x4.
"""

from __future__ import annotations

from spandrel.architectures.SwinIR import SwinIR
from torch import nn

from . import register_arch


@register_arch(
    "SwinIR",
    presets={
        "paper": {
            "img_size": 48, "window_size": 8, "depths": [6, 6, 6, 6, 6, 6], "embed_dim": 180,
            "num_heads": [6, 6, 6, 6, 6, 6], "mlp_ratio": 2.0, "upsampler": "pixelshuffle",
            "resi_connection": "1conv",
        },
        "tiny": {
            "img_size": 32, "window_size": 8, "depths": [2, 2], "embed_dim": 48,
            "num_heads": [3, 3], "mlp_ratio": 2.0, "upsampler": "pixelshuffledirect",
            "resi_connection": "1conv",
        },
    },
    reference="Liang et al., SwinIR: Image Restoration Using Swin Transformer, ICCV-W 2021",
    tags=("transformer", "shifted-window", "pixelshuffle"),
)
def swinir(scale: int, **cfg: object) -> nn.Module:
    cfg = dict(cfg)
    cfg.setdefault("drop_path_rate", 0.1)
    return SwinIR(upscale=scale, in_chans=3, img_range=1.0, **cfg)  # type: ignore[arg-type]
