import json

import numpy as np
import pytest

from srprint.errors import SrprintError
from srprint.verification.fingerprint import Fingerprint, FingerprintError, FingerprintSettings, load_fingerprint
from srprint.verification.verify import eta_threshold, feature_distance, p_value, verify_fingerprints


def _fp(features: np.ndarray, **settings: object) -> Fingerprint:
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    return Fingerprint(FingerprintSettings(**settings), np.asarray(features, dtype=np.float64), [img],
                       model={"id": "m"})


def test_eta_paper_value():
    assert eta_threshold(30, 0.015, 0.05) == pytest.approx(1.39e-4, rel=0.01)
    assert eta_threshold(30, 0.015, 0.01) < eta_threshold(30, 0.015, 0.05)  # stricter level, smaller eta


def test_distance_and_p_value():
    a, b = np.zeros(30), np.zeros(30)
    b[0] = 0.03
    assert feature_distance(a, b) == pytest.approx(0.03**2 / 30)
    eta = eta_threshold()
    assert p_value(eta) == pytest.approx(0.05, rel=1e-6)  # the threshold sits at the p level
    assert p_value(eta / 2) < 0.05 < p_value(eta * 2)


def test_verdicts():
    base = np.full(30, 1 / 30)
    near = base.copy()
    near[:2] += [0.01, -0.01]  # d = 2e-4 / 30 = 6.7e-6 << eta
    far = base.copy()
    far[:2] += [0.2, -0.2]
    v = verify_fingerprints(_fp(base), _fp(near))
    assert v.is_copy and v.ratio < 1 and v.p_value < 0.05
    w = verify_fingerprints(_fp(base), _fp(far))
    assert not w.is_copy and w.ratio > 1 and w.p_value > 0.05


def test_verify_refuses_mismatched_settings():
    f = np.zeros(30)
    with pytest.raises(FingerprintError, match=r"iters \(5000 vs 300\)"):
        verify_fingerprints(_fp(f), _fp(f, iters=300))
    with pytest.raises(FingerprintError, match="task"):
        verify_fingerprints(_fp(f), _fp(f, task="denoise"))


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    fp = _fp(rng.random(30), size=64)
    fp.images = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)]
    path = fp.save(tmp_path / "fp.json")
    assert (tmp_path / "fp.critical0.png").is_file()
    back = load_fingerprint(path)
    np.testing.assert_array_equal(back.images[0], fp.images[0])
    np.testing.assert_allclose(back.features, fp.features)
    assert back.settings == fp.settings


def test_corrupt_fingerprint_file(tmp_path):
    p = tmp_path / "fp.json"
    _fp(np.zeros(30)).save(p)
    text = p.read_text()
    p.write_text(text[: len(text) // 2])
    with pytest.raises(FingerprintError, match="corrupt fingerprint file"):
        load_fingerprint(p)
    d = json.loads(text)
    d["images_png_base64"] = ["bm90IGEgcG5n"]  # "not a png"
    p.write_text(json.dumps(d))
    with pytest.raises(FingerprintError, match="corrupt fingerprint"):
        load_fingerprint(p)
    p.write_text(json.dumps({"hello": 1}))
    with pytest.raises(FingerprintError, match="not an srprint fingerprint"):
        load_fingerprint(p)
    with pytest.raises(SrprintError, match="not found"):
        load_fingerprint(tmp_path / "missing.json")


def test_verdict_notes_a_different_compute_environment():
    base = np.full(30, 1 / 30)
    one, two = _fp(base), _fp(base)
    assert verify_fingerprints(one, two).notes == []  # nothing recorded: nothing to say
    one.versions = {"torch": "2.14.1", "torch_threads": "1", "device": "cpu"}
    two.versions = {"torch": "2.14.1", "torch_threads": "2", "device": "cpu"}
    notes = verify_fingerprints(one, two).notes
    assert len(notes) == 1 and "torch_threads (1 vs 2)" in notes[0]
    two.versions["torch_threads"] = "1"
    assert verify_fingerprints(one, two).notes == []


def test_fingerprint_records_its_compute_environment(tiny_zoo):
    import torch

    from srprint.verification.fingerprint import fingerprint_model

    fp = fingerprint_model(tiny_zoo / "EDSR-tiny-x2-s1", FingerprintSettings(size=16, iters=3), use_cache=False)
    assert fp.versions["torch_threads"] == str(torch.get_num_threads()) and fp.versions["device"] == "cpu"
    assert fp.versions["torch"] == torch.__version__
