import pytest
import torch

from srprint.errors import SrprintError
from srprint.verification.baselines import _boundary_loss, classify_logits, match_verdict
from srprint.verification.fingerprint import FingerprintSettings, fingerprint_model
from srprint.verification.verify import verify_fingerprints
from srprint.zoo.model import load_model


def test_ablation_settings():
    assert FingerprintSettings(method="wo_tv", lam=0.5).lam == 0.0
    with pytest.raises(SrprintError, match="unknown --method"):
        FingerprintSettings(method="nope")


def test_classifier_heads_shapes():
    y = torch.rand(2, 3, 20, 20)
    assert classify_logits(y, "projcl", 0).shape == (2, 100)
    assert classify_logits(y, "poolcl", 0).shape == (2, 100)
    torch.testing.assert_close(classify_logits(y, "projcl", 0), classify_logits(y, "projcl", 0))


def test_boundary_loss_zero_on_boundary():
    z = torch.zeros(1, 100)
    z[0, 3] = z[0, 7] = 1.0  # two equal top logits above the rest by more than kappa
    assert float(_boundary_loss(z, torch.tensor([[3, 7]]))) == 0.0
    z[0, 7] = 0.5
    assert float(_boundary_loss(z, torch.tensor([[3, 7]]))) > 0.0


@pytest.mark.parametrize("method", ["projcl", "poolcl"])
def test_ipguard_fingerprint_matches_itself(tiny_zoo, method):
    s = FingerprintSettings(size=16, iters=5, k=3, method=method)
    fp = fingerprint_model(tiny_zoo / "EDSR-tiny-x2-s1", s)
    assert len(fp.images) == 3 and len(fp.extra["labels"]) == 3
    mv = match_verdict(fp, load_model(tiny_zoo / "EDSR-tiny-x2-s1"))
    assert mv["match_rate"] == 1.0 and mv["is_copy"]
    with pytest.raises(SrprintError, match="verifies against a model"):
        verify_fingerprints(fp, fp)


def test_maxobj_increases_objective(tiny_zoo):
    fp = fingerprint_model(tiny_zoo / "EDSR-tiny-x2-s1", FingerprintSettings(size=16, iters=10, method="maxobj"))
    assert fp.objective["final"] < fp.objective["initial"]  # the negated objective is minimised
