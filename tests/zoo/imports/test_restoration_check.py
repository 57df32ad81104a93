"""The LR degradations the quality check of an imported checkpoint can use."""

from __future__ import annotations

import torch


def test_no_antialias_downscale_matches_torch_and_cv2_convention() -> None:
    """The 'authors' degradation' LR (cv2 INTER_CUBIC) equals torch's non-antialiased bicubic."""
    import torch.nn.functional as F

    from srprint.zoo.imports.restoration_check import downscale_no_antialias

    x = torch.rand(3, 48, 72, generator=torch.Generator().manual_seed(3))
    for s in (2, 3, 4, 8):
        ref = F.interpolate(x[None], size=(48 // s, 72 // s), mode="bicubic", align_corners=False)[0].clamp(0, 1)
        assert torch.allclose(downscale_no_antialias(x, s, quantize=False), ref, atol=1e-5)
    # TF's a=-0.5 kernel is a different LR; srprint's antialiased one differs again
    cv2_like = downscale_no_antialias(x, 4, quantize=False)
    assert not torch.allclose(downscale_no_antialias(x, 4, -0.5, quantize=False), cv2_like, atol=1e-3)
