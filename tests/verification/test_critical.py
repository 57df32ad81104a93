import numpy as np
import pytest
import torch

from srprint.errors import SrprintError
from srprint.verification.critical import critical_images, tv_l1
from srprint.verification.task_operators import apply_degradation, list_degradations
from srprint.zoo.model import SRModel, load_model


def test_objective_decreases(tiny_zoo):
    model = load_model(tiny_zoo / "EDSR-tiny-x2-s1")
    res = critical_images(model, "sr", size=16, iters=30, seed=0)
    assert res.images.shape == (1, 16, 16, 3)
    assert res.images.min() >= 0.0 and res.images.max() <= 1.0
    assert res.final_objective < res.initial_objective
    assert all(not p.requires_grad for p in model.parameters())
    again = critical_images(model, "sr", size=16, iters=30, seed=0)
    np.testing.assert_array_equal(res.images, again.images)  # seeded, deterministic


def test_tv_of_constant_is_zero():
    assert float(tv_l1(torch.full((1, 3, 8, 8), 0.4))) == 0.0
    x = torch.zeros(1, 1, 2, 2)
    x[..., 1] = 1.0  # one vertical edge: horizontal diffs all 1, vertical 0
    assert float(tv_l1(x)) == pytest.approx(1.0)


@pytest.mark.parametrize("task", list_degradations())
def test_degradations_shapes_and_determinism(task):
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    scale = 2 if task == "sr" else 1
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    y = apply_degradation(task, x, scale, generator=g1)
    assert y.shape[-1] == 16 // scale
    torch.testing.assert_close(y, apply_degradation(task, x, scale, generator=g2))
    y.sum().backward()  # differentiable in x
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_denoiser_given_task_sr_is_refused(tiny_zoo):
    model = load_model(tiny_zoo / "tiny-denoiser")
    with pytest.raises(SrprintError, match="does not fit task 'sr'"):
        critical_images(model, "sr", size=16, iters=2)


def test_sr_model_given_task_denoise_is_refused(tiny_zoo):
    model = load_model(tiny_zoo / "EDSR-tiny-x2-s1")
    with pytest.raises(SrprintError, match=r"does not fit task 'denoise'.*x2"):
        critical_images(model, "denoise", size=16, iters=2)


class _NaNNet(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x, scale_factor=2) * float("nan")


def test_non_finite_output_stops():
    with pytest.raises(SrprintError, match="non-finite model output at iteration 0"):
        critical_images(SRModel(_NaNNet(), 2), "sr", size=16, iters=5)
