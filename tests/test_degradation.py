import numpy as np
import pytest
import torch

from srprint.degradation import bicubic_downscale, bicubic_upscale, downscale_image, resize_long_side
from srprint.errors import ImageError


def test_downscale_shapes_constant_images_and_quantisation() -> None:
    x = torch.full((2, 3, 16, 12), 100 / 255)
    y = bicubic_downscale(x, 4)
    assert y.shape == (2, 3, 4, 3)
    assert torch.allclose(y, torch.full_like(y, 100 / 255), atol=1e-6)
    z = bicubic_downscale(torch.rand(1, 3, 8, 8), 2)
    assert torch.allclose(z * 255, torch.round(z * 255))


def test_downscale_is_antialiased() -> None:
    # a 1-pixel checkerboard averages to grey when antialiased (plain subsampling would keep 0/1)
    x = torch.zeros(1, 3, 16, 16)
    x[..., ::2, ::2] = 1
    x[..., 1::2, 1::2] = 1
    y = bicubic_downscale(x, 2, quantize=False)
    assert float((y - 0.5).abs().max()) < 0.1


def test_not_divisible_raises_and_helpers() -> None:
    with pytest.raises(ImageError, match="not divisible"):
        bicubic_downscale(torch.rand(1, 3, 10, 9), 2)
    assert bicubic_upscale(torch.rand(1, 3, 5, 6), 3).shape == (1, 3, 15, 18)
    img = np.random.default_rng(0).random((40, 20, 3)).astype(np.float32)
    assert downscale_image(img, 4).shape == (10, 5, 3)
    assert resize_long_side(img, 20).shape == (20, 10, 3)
    assert resize_long_side(img, 100) is img
