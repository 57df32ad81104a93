"""JPEG method 7: a x2 candidate is traced and calibrated in its own (larger) window, under its own key."""

from dataclasses import replace

from srprint.attribution import jpeg_decide
from srprint.attribution import jpeg_trace as jt
from srprint.attribution import trace as tr
from srprint.attribution.jpeg_file import read_jpeg
from srprint.verification.fingerprint import load_entry_model

from .test_jpeg_trace import FAST, _decoded, _jpeg, spy_on_inversions, zoo  # noqa: F401 - zoo is a fixture
from .test_trace import _made_by


def test_window_by_scale_and_the_other_scales_keys_unchanged():
    s = tr.TraceSettings()
    assert s.jpeg_window(2) == jt.JPEG_CROP_X2 == 96
    assert s.jpeg_window(1) == s.jpeg_window(3) == s.jpeg_window(4) == s.jpeg_window(8) == jt.JPEG_CROP == 64
    # the settings' key (the pixel path's and every non-x2 JPEG calibration's) does not name the x2 window
    assert tr.TraceSettings(jpeg_crop_x2=128).key() == s.key()


def test_x2_candidate_is_traced_and_calibrated_in_its_window_and_never_reuses_another(zoo, monkeypatch):  # noqa: F811
    wide = replace(FAST, jpeg_crop=32, jpeg_crop_x2=48)
    data = _jpeg(_made_by(zoo[0], size=64), quality=75)
    info = read_jpeg(data)
    crops = spy_on_inversions(monkeypatch)
    res = tr.trace_image(_decoded(data), zoo, load_entry_model, settings=wide, jpeg=info, alpha=0.05)
    assert res["verdict"] == "made by" and res["model"] == zoo[0].id, res["explanation"]
    # every search, traced window and calibration crops alike, ran at the x2 window (48), not jpeg_crop (32)
    assert crops and {c.size for c in crops} == {48}
    assert {r["crop"][2] for r in res["candidates"]} == {48}
    model = load_entry_model(zoo[0])
    n = len(crops)
    jpeg_decide.jpeg_calibration(zoo[0], model, info, 48, wide)  # cached at this x2 window: no search
    assert len(crops) == n
    # the same side under another x2 window setting is a calibration of its own: computed, never reused
    jpeg_decide.jpeg_calibration(zoo[0], model, info, 48, replace(wide, jpeg_crop_x2=64))
    assert len(crops) == n + 2 * wide.n_jpeg_calibration
