"""Parameter lineage (srprint.verification.lineage): canonicalisation, alignment, statistic, p-value."""

import copy

import numpy as np
import pytest
import torch
from scipy.stats import kstest
from torch import nn

from srprint.verification import lineage as lin
from srprint.verification.reparam import fold_batchnorm, permute_hidden, rescale_hidden
from srprint.zoo.archs import create_arch

from .conftest import TINY_EDSR
from .test_reparam import _bn_net


def _edsr(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return create_arch("EDSR", 2, config={**TINY_EDSR, "n_feats": 12}).eval()


def test_canonical_weight_is_invariant_to_diagonal_rescaling():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 5, 9))
    d1, d2 = np.exp(rng.uniform(-2, 2, 6)), np.exp(rng.uniform(-2, 2, 5))
    a, b = lin.canonical_weight(w), lin.canonical_weight(w * d1[:, None, None] * d2[None, :, None])
    assert abs(np.dot(a.ravel(), b.ravel()) / np.linalg.norm(a) / np.linalg.norm(b) - 1) < 1e-9
    assert lin._cosine(lin.canonical_weight(rng.normal(size=(6, 5, 9))), a) < 0.5


def test_match_channels_recovers_a_permutation():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(10, 300))
    perm = rng.permutation(10)
    b = a[perm] * rng.uniform(0.5, 2.0, size=(10, 1))
    p = lin.match_channels(a, b)
    np.testing.assert_array_equal(perm[p], np.arange(10))  # b[p] is a, channel by channel


def test_permuted_and_rescaled_copy_is_identical_and_independent_init_is_not():
    src = _edsr(1)
    copy_net = copy.deepcopy(src)
    permute_hidden(copy_net, seed=5)
    rescale_hidden(copy_net, seed=6)
    cs = lin.capture_model(src)
    same = lin.compare_captures(cs, lin.capture_model(copy_net))
    other = lin.compare_captures(cs, lin.capture_model(_edsr(2)))
    assert same.similarity > 0.9999 and same.coverage > 0.99
    assert other.similarity < 0.3 and other.coverage > 0.99
    naive = lin._cosine(torch.cat([p.detach().flatten() for p in src.parameters()]).double().numpy(),
                        torch.cat([p.detach().flatten() for p in copy_net.parameters()]).double().numpy())
    assert naive < 0.9  # the re-parameterisation does break a naive weight cosine


def test_batchnorm_is_folded_before_comparing():
    net = _bn_net()
    folded = copy.deepcopy(net)
    fold_batchnorm(folded)
    a, b = lin.capture_model(net), lin.capture_model(folded)
    assert a.layers[0].folded_bn == "body.1"
    np.testing.assert_allclose(a.layers[0].weight, b.layers[0].weight, rtol=1e-5, atol=1e-6)
    assert lin.compare_captures(a, b).similarity > 0.99999


def test_another_architecture_has_low_coverage():
    a = lin.capture_model(_edsr(1))
    torch.manual_seed(0)
    rcan = create_arch("RCAN", 2, config={"n_resgroups": 1, "n_resblocks": 1, "n_feats": 16, "reduction": 4})
    res = lin.compare_captures(a, lin.capture_model(rcan.eval()))
    assert res.coverage < lin.MIN_COVERAGE


def test_p_value_of_known_null_pairs_is_roughly_uniform():
    # independent initialisations of one architecture: the source, the suspect and the null are exchangeable
    nets = [_edsr(100 + i) for i in range(14)]
    caps = [lin.capture_model(n) for n in nets]
    pvals = []
    for trial in range(12):
        src, sus = caps[trial], caps[trial + 1]
        null_caps = [c for k, c in enumerate(caps) if k not in (trial, trial + 1)][:10]
        null = [lin.compare_captures(src, c).similarity for c in null_caps]
        s = lin.compare_captures(src, sus).similarity
        pvals.append(lin.lineage_p_value(s, null)["p_value"])
    assert kstest(pvals, "uniform").pvalue > 0.01
    assert min(pvals) > 1e-3  # no independent pair is called significant at the default level


def test_p_value_needs_a_null():
    with pytest.raises(lin.LineageError, match="at least 3"):
        lin.lineage_p_value(0.5, [0.1, 0.2])
    res = lin.lineage_p_value(0.9999, [0.01, 0.02, 0.015, 0.012])
    assert res["p_value"] < 1e-6 and res["p_empirical"] == pytest.approx(1 / 5)
