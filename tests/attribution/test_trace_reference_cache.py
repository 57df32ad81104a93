"""The bicubic reference's calibration is computed once per scale and file structure, not once per candidate."""

import pytest

from srprint.attribution import jpeg_decide as jd
from srprint.attribution import trace as tr
from srprint.attribution.inversion import ReferenceModel
from srprint.attribution.jpeg_file import read_jpeg
from srprint.attribution.trace_calibration import calibration_photos
from srprint.verification.fingerprint import load_entry_model

from .test_trace import LR, _entry

PIXEL = tr.TraceSettings(crop=32, steps=30, lr=LR, n_calibration=3)
JPEG = tr.TraceSettings(crop=32, steps=30, lr=LR, n_calibration=3, jpeg_crop=48, jpeg_crop_x2=48,
                        jpeg_start_steps=20, jpeg_steps=20, jpeg_lr=LR, n_jpeg_calibration=3)


@pytest.fixture()
def candidates(tmp_path, monkeypatch):
    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path / "home"))
    entries = [_entry(tmp_path / "zoo", f"EDSR-tiny-x2-s{seed}", seed) for seed in (1, 2)]
    return [(e, load_entry_model(e)) for e in entries]


def _counting(monkeypatch, module, name):
    """Wrap ``module.name`` (a search or inversion taking the network first): the reference's calls are counted."""
    calls = []
    real = getattr(module, name)

    def spy(net, *args, **kwargs):
        if isinstance(net, ReferenceModel):
            calls.append(net.scale)
        return real(net, *args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_pixel_reference_is_inverted_once_for_two_candidates(candidates, monkeypatch):
    calls = _counting(monkeypatch, tr, "invert_batch")
    cached = [tr.calibration_ratios(e, net, PIXEL) for e, net in candidates]
    assert calls == [2]  # the first candidate's reference run serves the second
    fresh = [tr.calibration_ratios(e, net, PIXEL, use_cache=False) for e, net in candidates]
    assert calls == [2, 2, 2]  # without the cache each computes its own
    assert cached == fresh  # a deterministic search: the stored residuals are the ones it gives
    assert cached[0] != cached[1]  # each candidate still its own ratios


def test_jpeg_reference_is_searched_once_for_photo_crops_only(candidates, monkeypatch):
    info = read_jpeg(_jpeg(calibration_photos(1, 64)[0], quality=90))
    calls = _counting(monkeypatch, jd, "_search_all")
    cached = [jd.jpeg_calibration(e, net, info, 48, JPEG) for e, net in candidates]
    assert calls == [2]
    fresh = [jd.jpeg_calibration(e, net, info, 48, JPEG, use_cache=False) for e, net in candidates]
    assert cached == fresh
    # the sibling rule's calibration (each candidate's own outputs): the reference's crops differ per candidate
    calls.clear()
    for e, net in candidates:
        jd.jpeg_calibration(e, net, info, 48, JPEG, own=True)
    assert calls == [2, 2]


def _jpeg(img, **kw):
    from .test_jpeg_trace import _jpeg as encode

    return encode(img, **kw)


def test_a_corrupt_or_short_calibration_cache_is_not_read(tmp_path):
    from srprint.attribution.trace_calibration import read_cached_list, write_cache

    path = tmp_path / "cal" / "c.json"
    assert read_cached_list(path, "ratios", 2) is None  # missing
    write_cache(path, {"ratios": [0.5, 0.25]})
    assert read_cached_list(path, "ratios", 2, item=float) == [0.5, 0.25]
    assert read_cached_list(path, "ratios", 3) is None  # another length
    assert read_cached_list(path, "statistics", 2) is None  # another field
    write_cache(path, {"ratios": [0.5, "x"]})
    assert read_cached_list(path, "ratios", 2, item=float) is None  # a value of another type
    path.write_text('{"ratios": [0.5,')  # cut short
    assert read_cached_list(path, "ratios", 2) is None
    (tmp_path / "file").write_text("")
    write_cache(tmp_path / "file" / "x.json", {"ratios": []})
    assert not (tmp_path / "file").is_dir()  # an unwritable cache place is passed over, not raised
