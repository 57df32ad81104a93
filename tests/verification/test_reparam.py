"""Function-preserving re-parameterisations (srprint.verification.reparam) and their attacks."""

import copy

import pytest
import torch
from torch import nn

from srprint.errors import SrprintError
from srprint.verification.reparam import find_chains, fold_batchnorm, permute_hidden, rescale_hidden
from srprint.zoo.archs import create_arch

from .conftest import TINY_EDSR


class BNNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


def _bn_net() -> nn.Module:
    torch.manual_seed(0)
    net = BNNet().eval()
    bn = net.body[1]
    with torch.no_grad():  # non-trivial statistics, as after training
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return net


def _edsr() -> nn.Module:
    torch.manual_seed(3)
    return create_arch("EDSR", 2, config=dict(TINY_EDSR)).eval()


@pytest.mark.parametrize("make", [_edsr, _bn_net])
@pytest.mark.parametrize("change", ["permute", "rescale", "foldbn"])
def test_reparameterisation_keeps_outputs(make, change):
    net = make()
    x = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = net(x)
    other = copy.deepcopy(net)
    fn = {"permute": lambda n: permute_hidden(n, seed=1), "rescale": lambda n: rescale_hidden(n, seed=1),
          "foldbn": fold_batchnorm}[change]
    if change == "foldbn" and make is _edsr:
        with pytest.raises(SrprintError, match="no conv -> BatchNorm"):
            fn(other)
        return
    assert fn(other) >= 1
    pairs = zip(net.state_dict().values(), other.state_dict().values(), strict=True)
    changed = any(not torch.equal(a, b) for a, b in pairs)
    assert changed
    with torch.no_grad():
        torch.testing.assert_close(other(x), before, atol=1e-5, rtol=1e-5)


def test_chains_skip_channels_read_by_a_residual():
    chains = find_chains(_edsr())
    # the head conv feeds the residual sum: never permuted; each ResBlock's first conv is
    firsts = {c.first for c in chains}
    assert "head" not in firsts
    assert any(f.startswith("body.0.body.0") for f in firsts)


def test_untraceable_network_is_refused():
    class Dynamic(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # data-dependent control flow: fx cannot trace it
                return self.b(torch.relu(self.a(x)))
            return x

    with pytest.raises(SrprintError, match="cannot trace"):
        permute_hidden(Dynamic())
