"""RCAN (Zhang et al., ECCV 2018): residual-in-residual groups with channel attention.

Network code from spandrel, so our RCAN checkpoints are also loadable by spandrel's detection.
Inputs and outputs stay in [0, 1]: we build it with ``rgb_range=1``.
"""

from __future__ import annotations

from spandrel.architectures.RCAN import RCAN
from torch import nn

from . import register_arch


@register_arch(
    "RCAN",
    presets={
        "paper": {"n_resgroups": 10, "n_resblocks": 20, "n_feats": 64, "reduction": 16},
        "tiny": {"n_resgroups": 3, "n_resblocks": 3, "n_feats": 32, "reduction": 8},
    },
    reference="Zhang et al., Image Super-Resolution Using Very Deep Residual Channel Attention Networks, ECCV 2018",
    tags=("channel-attention", "residual-in-residual", "pixelshuffle"),
)
def rcan(scale: int, **cfg: object) -> nn.Module:
    return RCAN(scale=scale, rgb_range=1, **cfg)  # type: ignore[arg-type]
