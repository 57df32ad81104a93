"""Tracing an image to its model by inversion (srprint.attribution.inversion / .trace)."""

import numpy as np
import pytest
import torch

from srprint.attribution import trace as tr
from srprint.attribution.inversion import QUANT_FLOOR, ReferenceModel, invert_model
from srprint.degradation import bicubic_downscale
from srprint.io.checkpoints import save_weights
from srprint.io.images import skimage_photos
from srprint.verification.fingerprint import load_entry_model
from srprint.zoo.archs import create_arch
from srprint.zoo.entry import ZooEntry

TINY = {"n_resblocks": 1, "n_feats": 8, "res_scale": 1.0}
# untrained nets are harder to invert than trained ones: a larger step than the default
LR = 0.03
# 8 calibration crops (df 7) cannot carry the library's level (alpha x 1e-2, set for 32-crop calibrations of trained
# models): these tests check the mechanics at the level alpha itself, as the 8-crop demo does
FAST = tr.TraceSettings(crop=32, steps=100, lr=LR, n_calibration=8, pixel_level=1.0)


def _entry(root, name, seed):
    torch.manual_seed(seed)
    net = create_arch("EDSR", 2, config=TINY)
    folder = root / name
    folder.mkdir(parents=True)
    save_weights(folder / "model.safetensors", net.state_dict())
    e = ZooEntry(id=name, source="trained", arch="EDSR", scale=2, task="sr", arch_config=dict(TINY))
    e.save(folder)
    return e


@pytest.fixture()
def zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path / "home"))
    return [_entry(tmp_path / "zoo", f"EDSR-tiny-x2-s{i}", i) for i in (1, 2, 3)]


def _made_by(entry, photo="coffee", size=32):
    hr = torch.from_numpy(np.ascontiguousarray(skimage_photos()[photo][100:100 + size, 200:200 + size]
                                                .transpose(2, 0, 1))).float()[None]
    with torch.no_grad():
        out = load_entry_model(entry).infer(bicubic_downscale(hr, 2, quantize=True))
    return np.round(out[0].numpy().transpose(1, 2, 0) * 255) / 255  # saved as 8 bits


def _real_photo(size=32):
    return np.round(skimage_photos()["coffee"][300:300 + size, 100:100 + size] * 255) / 255


def test_residual_decreases_under_the_optimiser(zoo):
    res = invert_model(load_entry_model(zoo[0]), _made_by(zoo[0]), steps=60, lr=LR, stop_residual=0.0)
    h = res.history
    assert res.residual < res.initial
    assert all(b <= a for a, b in zip(h, h[1:], strict=False))  # best-so-far, recorded every 10 steps
    assert h[-1] < 0.5 * h[0]  # and it really goes down


def test_own_image_reaches_the_floor_others_do_not(zoo):
    img = _made_by(zoo[0])
    own = invert_model(load_entry_model(zoo[0]), img, steps=120, lr=LR).residual
    other = invert_model(load_entry_model(zoo[1]), img, steps=120, lr=LR).residual
    assert own < 3 * QUANT_FLOOR
    assert other > 10 * own


def test_trace_names_the_model_and_flips_without_it(zoo):
    img = _made_by(zoo[0])
    res = tr.trace_image(img, zoo, load_entry_model, settings=FAST)
    assert res["verdict"] == "made by" and res["model"] == zoo[0].id, res["explanation"]
    res = tr.trace_image(img, zoo[1:], load_entry_model, settings=FAST)
    assert res["verdict"] == "none of these models", res["explanation"]


def test_real_photo_is_made_by_none(zoo):
    res = tr.trace_image(_real_photo(), zoo, load_entry_model, settings=FAST)
    assert res["verdict"] == "none of these models", res["explanation"]


def test_calibration_never_sees_a_traced_image(zoo, monkeypatch):
    seen = []
    real = tr.invert_model

    def spy(model, image, **kw):
        if not isinstance(model, ReferenceModel):
            seen.append(np.asarray(image))
        return real(model, image, **kw)

    def spy_batch(model, images, **kw):  # the calibration inverts its crops together (inversion_batch)
        if not isinstance(model, ReferenceModel):
            seen.extend(np.asarray(i) for i in images)
        return real_batch(model, images, **kw)

    real_batch = tr.invert_batch
    monkeypatch.setattr(tr, "invert_model", spy)
    monkeypatch.setattr(tr, "invert_batch", spy_batch)
    img = _made_by(zoo[0])
    tr.trace_image(img, zoo[:1], load_entry_model, settings=FAST)
    traced = tr.centre_crop(img, FAST.crop, 2)
    calib = seen[1:]
    assert len(calib) == FAST.n_calibration
    assert not any(c.shape == traced.shape and np.allclose(c, traced) for c in calib)
    # the calibration photos are not the photo the traced image was made from
    assert "coffee" not in tr.CALIBRATION_PHOTOS


def test_reference_ratio_cancels_how_easy_an_image_is():
    # a bicubic upscale is exactly reproduced by the reference: no candidate can beat a ratio of ~1
    lr_img = skimage_photos()["coffee"][100:116, 200:216]
    from srprint.degradation import bicubic_upscale

    up = bicubic_upscale(torch.from_numpy(np.ascontiguousarray(lr_img.transpose(2, 0, 1))).float()[None], 2)
    up = np.round(up[0].clamp(0, 1).numpy().transpose(1, 2, 0) * 255) / 255
    assert invert_model(ReferenceModel(2), up, steps=100, lr=LR).residual < 3 * QUANT_FLOOR
    blur = ReferenceModel(1)(torch.ones(1, 3, 8, 8))
    torch.testing.assert_close(blur, torch.ones(1, 3, 8, 8))  # the same-size reference keeps flat images


def test_candidates_fit_the_image_size(zoo):
    assert [e.id for e in tr.candidates(zoo, (33, 32, 3))] == []
    assert len(tr.candidates(zoo, (32, 32, 3))) == 3
    assert [e.id for e in tr.candidates(zoo, (32, 32, 3), models="s2")] == ["EDSR-tiny-x2-s2"]
    with pytest.raises(Exception, match="no candidate"):
        tr.trace_image(_real_photo(), [], load_entry_model, settings=FAST)


def test_trace_cli_bad_input_and_folder(zoo, tmp_path):
    import json

    from typer.testing import CliRunner

    from srprint.cli import app
    from srprint.io.images import write_png

    runner = CliRunner()
    zoo_dir = str(zoo[0].path.parent)
    odd = tmp_path / "odd.png"
    write_png(odd, np.zeros((33, 33, 3), np.float32))
    r = runner.invoke(app, ["trace", str(odd), "--zoo", zoo_dir])  # no scale grid fits: none, with the reason
    assert r.exit_code == 0, r.output
    assert "none of these models" in r.output and "no candidate's scale grid fits" in r.output
    r = runner.invoke(app, ["trace", str(odd), "--zoo", zoo_dir, "--models", "x2-s1"])
    assert r.exit_code == 0, r.output
    folder = tmp_path / "imgs"
    folder.mkdir()
    write_png(folder / "a.png", _real_photo())
    (folder / "broken.png").write_bytes(b"not a png")
    r = runner.invoke(app, ["trace", str(folder), "--zoo", zoo_dir, "--crop", "32", "--steps", "20",
                            "--models", "s1", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert [im["verdict"] for im in res["images"]] == ["none of these models"]
    assert [s["path"].endswith("broken.png") for s in res["skipped"]] == [True]
    assert res["aggregate"]["verdict"] == "none of these models"


def test_trace_claim_uses_the_wilson_lower_bound():
    from srprint.report.claims import claims_rows, table_claims_data, wilson_interval

    def verdict(k, n):
        rows = [{"model": "a", "predicted": "a", "verdict": "made by"}] * k + [
            {"model": "a", "predicted": None, "verdict": "none of these models"}] * (n - k)
        row = [r for r in claims_rows(table_claims_data({"trace": {"rows": rows}})) if "8-bit" in r[1]][0]
        return row[-1], row[-2]

    lo, hi = wilson_interval(11, 11)
    assert 0.73 < lo < 0.75 and hi == 1.0
    assert verdict(11, 11)[0] == "not shown"  # 11 of 11 is not evidence of >= 97 %
    assert verdict(150, 150)[0] == "reproduced" and "Wilson" in verdict(150, 150)[1]
    assert verdict(80, 100)[0] == "refuted"
