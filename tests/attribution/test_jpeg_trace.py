"""Tracing JPEGs (srprint.attribution.jpeg_file / jpeg_trace / jpeg_decide) and the top-K, resize and device paths."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, JpegImagePlugin

from srprint.attribution import jpeg_trace as jt
from srprint.attribution import trace as tr
from srprint.attribution.jpeg_file import JpegUnsupportedError, read_jpeg
from srprint.io.images import skimage_photos
from srprint.verification.fingerprint import load_entry_model

from .test_trace import LR, _entry, _made_by

FAST = tr.TraceSettings(crop=32, steps=100, lr=LR, n_calibration=8, pixel_level=1.0, jpeg_crop=48, jpeg_crop_x2=48,
                        jpeg_start_steps=60, jpeg_steps=80, jpeg_lr=LR, n_jpeg_calibration=6)


@pytest.fixture()
def zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("SRPRINT_HOME", str(tmp_path / "home"))
    return [_entry(tmp_path / "zoo", f"EDSR-tiny-x2-s{i}", i) for i in (1, 2, 3)]


def _jpeg(img, **kw):
    buf = io.BytesIO()
    Image.fromarray((np.asarray(img) * 255).round().astype(np.uint8)).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def _decoded(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32) / 255


@pytest.mark.parametrize("kw", [{"quality": 90}, {"quality": 75, "subsampling": 0}, {"quality": 95, "subsampling": 1},
                                {"quality": 80, "restart_marker_blocks": 2}])
def test_reader_gives_pillows_tables_and_sampling_and_the_coefficients(kw):
    photo = skimage_photos()["chelsea"][:75, :101]
    data = _jpeg(photo, **kw)
    info = read_jpeg(data)
    im = Image.open(io.BytesIO(data))
    assert [t.ravel().tolist() for t in info.qtables[:2]] == [list(im.quantization[0]), list(im.quantization[1])]
    assert {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}[JpegImagePlugin.get_sampling(im)] == info.subsampling
    assert info.restart_interval == (2 if "restart_marker_blocks" in kw else 0)
    # the DC coefficient is 8x the block mean of the level-shifted luma: decoding agrees with Pillow's
    im.draft("YCbCr", im.size)
    y = np.asarray(im.convert("YCbCr"), np.float64)[..., 0]
    means = y[:72, :96].reshape(9, 8, 12, 8).mean((1, 3))
    dc = info.coefficients[0][:9, :12, 0, 0] * info.qtables[0][0, 0] / 8 + 128
    assert np.abs(dc - means).max() < 1 + info.qtables[0][0, 0] / 8


def test_requantisation_test_is_exact_on_the_same_encoder(zoo):
    img = _made_by(zoo[0], size=64)
    for kw in ({"quality": 90}, {"quality": 75}, {"quality": 75, "subsampling": 0},
               {"quality": 90, "restart_marker_blocks": 1}):
        data = _jpeg(img, **kw)
        info = read_jpeg(data)
        crop = jt.aligned_jpeg_crop(info, _decoded(data), 2, 48)
        src = img[crop.y0:crop.y0 + crop.size, crop.x0:crop.x0 + crop.size]
        same = jt.requantisation_test(src, crop, border=0)
        assert same["n"] > 0 and same["violations"] == 0 and same["blocks_exact"] == 1.0
        other = jt.requantisation_test(_made_by(zoo[1], size=64)[crop.y0:crop.y0 + crop.size,
                                                                   crop.x0:crop.x0 + crop.size], crop, border=0)
        assert other["violations"] > 0


def test_crop_is_aligned_to_mcu_and_scale_or_refused():
    photo = skimage_photos()["chelsea"][:100, :120]
    info = read_jpeg(_jpeg(photo, quality=90))
    crop = jt.aligned_jpeg_crop(info, _decoded(_jpeg(photo, quality=90)), 3, 48)
    assert crop.y0 % 48 == 0 and crop.x0 % 48 == 0 and crop.size == 48  # lcm(16, 3)
    small = _jpeg(photo[:40, :40], quality=90)
    with pytest.raises(tr.SrprintError, match="cannot align a crop to the JPEG's 16x16 MCU grid"):
        jt.aligned_jpeg_crop(read_jpeg(small), _decoded(small), 3, 48)


@pytest.mark.parametrize("q", [90, 75])
def test_jpeg_of_a_tiny_models_output_is_traced_to_it_not_a_sibling(zoo, q):
    data = _jpeg(_made_by(zoo[0], size=64), quality=q)
    info = read_jpeg(data)
    # untrained tiny nets fit smooth photo crops far worse than bicubic upscaling does (calibration ratios
    # 1.3-57 at q 90), a wide null: the decision is tested at alpha 0.05 (the default 1e-3 is for trained models)
    res = tr.trace_image(_decoded(data), zoo, load_entry_model, settings=FAST, jpeg=info, alpha=0.05)
    assert res["verdict"] == "made by" and res["model"] == zoo[0].id, res["explanation"]
    assert res["path_taken"].startswith("jpeg")
    rows = {r["id"]: r for r in res["candidates"]}
    assert rows[zoo[0].id]["violations"] < min(rows[z.id]["violations"] for z in zoo[1:]) / 5
    assert rows[zoo[0].id]["violations"] < rows[zoo[0].id]["bicubic_violations"]  # the rival upscaler
    res = tr.trace_image(_decoded(data), zoo[1:], load_entry_model, settings=FAST, jpeg=info, alpha=0.05)
    assert res["verdict"] == "none of these models", res["explanation"]


def test_top_k_falls_back_to_every_candidate(zoo):
    img = _made_by(zoo[0])
    res = tr.trace_image(img, zoo, load_entry_model, settings=FAST, propose={zoo[1].id})
    assert res["verdict"] == "made by" and res["model"] == zoo[0].id, res["explanation"]
    assert "none confirmed" in res["path_taken"] and res["inverted"] == 3
    res = tr.trace_image(img, zoo, load_entry_model, settings=FAST, propose={zoo[0].id})
    assert res["model"] == zoo[0].id and res["inverted"] == 1 and "confirmed" in res["path_taken"]


def test_resized_image_is_none_of_these_with_the_reason(zoo, tmp_path):
    from typer.testing import CliRunner

    from srprint.cli import app

    img = (_made_by(zoo[0], size=64) * 255).round().astype(np.uint8)
    small = np.asarray(Image.fromarray(img).resize((58, 58), Image.Resampling.BICUBIC), np.float32) / 255
    res = tr.trace_image(small, zoo, load_entry_model, settings=FAST)  # 58 px still fits x2: inverted
    assert res["verdict"] == "none of these models" and tr.RESIZED in res["explanation"], res["explanation"]
    odd = tmp_path / "resized.png"
    Image.fromarray(img).resize((57, 57), Image.Resampling.BICUBIC).save(odd)  # fits no scale
    r = CliRunner().invoke(app, ["trace", str(odd), "--zoo", str(zoo[0].path.parent)])
    assert r.exit_code == 0 and "none of these models" in r.output and tr.RESIZED in r.output, r.output


def spy_on_inversions(monkeypatch) -> list:
    """Every crop the trace inverts from now on, in order (``jpeg_decide.jpeg_invert`` and ``jpeg_invert_batch``,
    wrapped)."""
    from srprint.attribution import jpeg_decide

    crops: list = []
    real = jpeg_decide.jpeg_invert

    def spy(model, crop, **kw):
        crops.append(crop)
        return real(model, crop, **kw)

    def spy_batch(model, batch, **kw):  # the calibration searches its crops together (jpeg_batch)
        crops.extend(batch)
        return real_batch(model, batch, **kw)

    real_batch = jpeg_decide.jpeg_invert_batch
    monkeypatch.setattr(jpeg_decide, "jpeg_invert", spy)
    monkeypatch.setattr(jpeg_decide, "jpeg_invert_batch", spy_batch)
    return crops


def test_calibration_never_receives_a_scored_image(zoo, monkeypatch):

    assert not set(tr.CALIBRATION_SETS) & set(tr.SCORED_SETS)
    names = [n for n, _ in tr.calibration_sources()]
    assert not [n for n in names if n.split(":")[0] in tr.SCORED_SETS]
    data = _jpeg(_made_by(zoo[0], size=64), quality=90)
    traced = _decoded(data)
    crops = spy_on_inversions(monkeypatch)
    tr.trace_image(traced, zoo[:1], load_entry_model, settings=FAST, jpeg=read_jpeg(data))
    seen = [c.pixels for c in crops]
    # the traced crop (the bicubic rival and the candidate), then each calibration photo (the bicubic
    # reference and the candidate), none of them the traced image
    assert len(seen) == 2 + 2 * FAST.n_jpeg_calibration
    calib = [s for s in seen if not np.array_equal(s, seen[0])]
    assert len(calib) == len(seen) - 2
    assert all(np.abs(s - traced[:s.shape[0], :s.shape[1]]).max() > 0.05 for s in calib)


def test_uninformative_windows_get_no_statistic(zoo, monkeypatch):
    from srprint.attribution import jpeg_decide

    searched = []
    real = jpeg_decide.jpeg_invert

    def spy(model, crop, **kw):
        searched.append(type(model).__name__)
        return real(model, crop, **kw)

    monkeypatch.setattr(jpeg_decide, "jpeg_invert", spy)
    # a flat image: bicubic upscaling lands in every cell, so no candidate is searched and none is named
    flat = np.full((64, 64, 3), 0.4, np.float32)
    data = _jpeg(flat, quality=90)
    res = tr.trace_image(_decoded(data), zoo[:2], load_entry_model, settings=FAST, jpeg=read_jpeg(data))
    assert res["verdict"] == "none of these models" and "not enough information" in res["explanation"]
    assert searched == ["ReferenceModel"] and all(r["uninformative"] for r in res["candidates"])


def test_context_makes_the_windows_true_input_exact(zoo):
    img = _made_by(zoo[0], size=96)
    data = _jpeg(img, quality=90)
    info = read_jpeg(data)
    crop = jt.aligned_jpeg_crop(info, _decoded(data), 2, 32, context=8)
    oy, ox = crop.offset
    assert crop.outer.shape[0] == crop.size + oy + min(16, 96 - crop.y0 - crop.size)  # clipped at the edges
    assert np.array_equal(crop.outer[oy:oy + crop.size, ox:ox + crop.size], crop.pixels)
    hr = torch.from_numpy(np.ascontiguousarray(skimage_photos()["coffee"][100:196, 200:296]
                                               .transpose(2, 0, 1))).float()[None]
    from srprint.degradation import bicubic_downscale

    x = bicubic_downscale(hr, 2, quantize=True)
    ya, xa = (crop.y0 - oy) // 2, (crop.x0 - ox) // 2
    h, w = crop.outer.shape[0] // 2, crop.outer.shape[1] // 2
    model = load_entry_model(zoo[0])
    with torch.no_grad():
        out = jt._window(model.infer(x[..., ya:ya + h, xa:xa + w]), crop)[0].numpy().transpose(1, 2, 0)
    assert jt.requantisation_test(out, crop, border=0)["violations"] == 0


def _cli(monkeypatch, capsys, *args):
    """``srprint ARGS`` through the real entry point: (exit code, stdout, stderr)."""
    import warnings

    from srprint.cli import main

    with warnings.catch_warnings(record=True) as seen:  # warnings count as stderr lines
        warnings.simplefilter("always")
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    out = capsys.readouterr()
    shown = "".join(f"warning: {w.message}\n" for w in seen if "CMYK image converted" not in str(w.message))
    return code, out.out, shown + out.err


def _bad_jpegs(folder):
    """Unsupported codings (progressive, arithmetic), a CMYK file and a JPEG too small for the MCU grid."""
    photo = skimage_photos()["chelsea"][:64, :64]
    (folder / "prog.jpg").write_bytes(_jpeg(photo, quality=90, progressive=True))
    buf = io.BytesIO()
    Image.fromarray((photo * 255).astype(np.uint8)).convert("CMYK").save(buf, format="JPEG", quality=95)
    (folder / "cmyk.jpg").write_bytes(buf.getvalue())
    arith = bytearray(_jpeg(photo, quality=90))
    arith[arith.index(b"\xff\xc0") + 1] = 0xC9  # an arithmetic-coded frame header
    (folder / "arith.jpg").write_bytes(bytes(arith))
    (folder / "thin.jpg").write_bytes(_jpeg(photo[:14], quality=90))  # 14 px high: under one 16-px MCU row


def test_bad_jpegs_are_refused_in_one_line_or_handled(zoo, tmp_path, monkeypatch, capsys):
    from srprint.attribution.jpeg_file import JpegColourError

    _bad_jpegs(tmp_path)
    zoo_dir = str(zoo[0].path.parent)
    for name, what in (("prog.jpg", "progressive JPEG"), ("arith.jpg", "arithmetic-coded JPEG")):
        with pytest.raises(JpegUnsupportedError, match=what):
            jt.jpeg_source(tmp_path / name)
        code, out, err = _cli(monkeypatch, capsys, "trace", str(tmp_path / name), "--zoo", zoo_dir)
        assert code == 2 and err.startswith("error: ") and what in err and err.count("\n") == 1, (code, out, err)
    # the MCU grid: no 16-px crop fits a 14-px-high JPEG, and the line says so (not *none of these models*)
    code, out, err = _cli(monkeypatch, capsys, "trace", str(tmp_path / "thin.jpg"), "--zoo", zoo_dir)
    assert code == 2 and "cannot align a crop to the JPEG's 16x16 MCU grid" in err and err.count("\n") == 1, err
    assert "none of these models" not in out + err
    # CMYK: the requantisation test models a YCbCr encoder, so the file is traced by its pixels, and says so
    with pytest.raises(JpegColourError, match=r"4-component JPEG \(CMYK"):
        jt.jpeg_source(tmp_path / "cmyk.jpg")
    code, out, err = _cli(monkeypatch, capsys, "trace", str(tmp_path / "cmyk.jpg"), "--zoo", zoo_dir,
                          "--models", "s1", "--crop", "32", "--steps", "20", "--json")
    assert code == 0, err
    import json

    (res,) = json.loads(out)["images"]
    assert res["path_taken"].startswith("pixels (8-bit floor); 4-component JPEG (CMYK"), res["path_taken"]
    assert "decoded pixels are traced" in res["path_taken"] and res["inverted"] == 1
    with pytest.raises(JpegUnsupportedError, match="not a JPEG|corrupt JPEG"):
        read_jpeg(b"\xff\xd8\xff\xdb\x00\x03")


def test_folder_mixing_pngs_and_jpegs_traces_each_its_own_way(zoo, tmp_path):
    from srprint.attribution import trace_batch
    from srprint.io.images import write_png

    folder = tmp_path / "mixed"
    folder.mkdir()
    _bad_jpegs(folder)
    made = _made_by(zoo[0], size=64)
    write_png(folder / "made.png", made)
    (folder / "made_q90.jpg").write_bytes(_jpeg(made, quality=90, restart_marker_blocks=1))  # restart markers
    (folder / "made_444.jpg").write_bytes(_jpeg(made, quality=90, subsampling=0))  # 4:4:4
    with pytest.warns(UserWarning, match="skipped"):
        out = trace_batch.trace_files(trace_batch.image_files(folder), zoo[:1], settings=FAST, alpha=0.05)
    routes = {Path(r["path"]).name: r["path_taken"] for r in out["images"]}
    assert routes["made.png"].startswith("pixels (8-bit floor)")
    assert routes["made_q90.jpg"].startswith("jpeg 4:2:0, 16x16 MCU (requantisation test)")
    assert routes["made_444.jpg"].startswith("jpeg 4:4:4, 8x8 MCU (requantisation test)")
    assert routes["cmyk.jpg"].startswith("pixels (8-bit floor); 4-component JPEG")
    verdicts = {Path(r["path"]).name: r["model"] for r in out["images"]}
    assert verdicts["made.png"] == verdicts["made_q90.jpg"] == verdicts["made_444.jpg"] == zoo[0].id, out["images"]
    skipped = {Path(s["path"]).name: s["reason"] for s in out["skipped"]}
    assert set(skipped) == {"prog.jpg", "arith.jpg", "thin.jpg"}
    assert "progressive JPEG" in skipped["prog.jpg"] and "arithmetic-coded" in skipped["arith.jpg"]
    assert "MCU grid" in skipped["thin.jpg"]


def test_png_that_was_a_jpeg_is_recognised():
    photo = skimage_photos()["astronaut"][100:228, 100:228]
    assert not jt.looks_like_former_jpeg(photo)
    assert jt.looks_like_former_jpeg(_decoded(_jpeg(photo, quality=40)))


def test_device_reaches_the_models(zoo, tmp_path, monkeypatch):
    from srprint.attribution import trace_batch
    from srprint.io.images import write_png
    from srprint.verification import fingerprint

    seen = []
    real = fingerprint.load_entry_model

    def spy(entry, device="cpu"):
        seen.append(device)
        return real(entry, device="cpu")

    monkeypatch.setattr(fingerprint, "load_entry_model", spy)
    write_png(tmp_path / "a.png", _made_by(zoo[0]))
    trace_batch.trace_files([tmp_path / "a.png"], zoo[:1], settings=FAST, device="cuda:7")
    assert seen and set(seen) == {"cuda:7"}


def test_forward_dct_matches_the_encoder():
    photo = skimage_photos()["astronaut"][64:128, 64:128]
    img8 = (photo * 255).round().astype(np.uint8)
    data = _jpeg(img8 / 255.0, quality=90)
    info = read_jpeg(data)
    mine = jt.forward_dct(torch.from_numpy(img8.astype(np.float32).transpose(2, 0, 1) / 255)[None], info.sampling)
    for d, q, c in zip(mine, info.qtables, info.coefficients, strict=True):
        agree = (torch.round(d[0] / torch.from_numpy(q.astype(np.float32))).numpy() == c[:d.shape[1], :d.shape[2]])
        assert agree.mean() > 0.98


def test_corrupt_jpegs_are_one_error_type():
    data = _jpeg(skimage_photos()["astronaut"][:64, :80], quality=80, restart_marker_blocks=2)
    rng = np.random.default_rng(0)
    for t in range(400):
        x = bytearray(data)
        if t % 2:
            x = x[:rng.integers(2, len(x))]
        else:
            for _ in range(rng.integers(1, 6)):
                x[rng.integers(2, len(x))] = rng.integers(0, 256)
        try:
            read_jpeg(bytes(x))
        except JpegUnsupportedError as exc:
            assert "\n" not in str(exc)


def test_predict_confirm_falls_back_and_gets_the_device(zoo, tmp_path, monkeypatch):
    from srprint.attribution import trace_batch
    from srprint.attribution.predict import confirm_by_inversion
    from srprint.io.images import write_png
    from srprint.verification import fingerprint

    devices = []
    real = fingerprint.load_entry_model
    monkeypatch.setattr(fingerprint, "load_entry_model", lambda e, device="cpu": devices.append(device) or real(e))
    monkeypatch.setattr(trace_batch, "trace_files", _with_settings(trace_batch.trace_files))
    path = tmp_path / "made.png"
    write_png(path, _made_by(zoo[0]))
    result = {"images": [{"path": str(path), "top": [{"class": zoo[2].id, "prob": 0.9}]}]}
    confirm_by_inversion(result, [zoo[0].path.parent], device="cuda:3")
    c = result["images"][0]["confirmed"]
    assert c["verdict"] == "made by" and c["model"] == zoo[0].id, c["explanation"]
    assert "none confirmed" in c["route"] and c["inverted"] == 3
    assert set(devices) == {"cuda:3"}


def _with_settings(fn):
    def run(*args, **kw):
        return fn(*args, **{**kw, "settings": FAST})

    return run


def _row(name, violations, p, *, ratio=0.05, **kw):
    return {"id": name, "violations": violations, "n": 2816, "bicubic_violations": 60, "ratio": ratio,
            "p_value": p, "null_min": 0.3, "null_median": 0.8, "crop": [0, 0, 64], **kw}


def test_sibling_rule_names_the_one_its_siblings_own_outputs_rule_out():
    from srprint.attribution.jpeg_decide import OWN_ALPHA, decide_jpeg

    a, b = _row("s1", 0, 1e-5, ratio=0.008), _row("s2", 11, 5e-4, ratio=0.18)
    # both pass the photo null: without the sibling rule's evidence, never a pick
    res = decide_jpeg([dict(a), dict(b)], 1e-3)
    assert res["verdict"] == "none of these models" and set(res["ambiguous"]) == {"s1", "s2"}
    # s2's own outputs come closer than this image in more than 99 % of cases: s2 is ruled out
    res = decide_jpeg([{**a, "p_own": 0.4}, {**b, "p_own": OWN_ALPHA / 5}], 1e-3, rivals=False)
    assert res["verdict"] == "made by" and res["model"] == "s1" and "its own outputs" in res["explanation"]
    # both consistent with their own outputs: the JPEG cannot tell them apart
    res = decide_jpeg([{**a, "p_own": 0.4}, {**b, "p_own": 0.2}], 1e-3)
    assert res["verdict"] == "none of these models" and "cannot tell them apart" in res["explanation"]
    # both ruled out: none of them made it
    res = decide_jpeg([{**a, "p_own": 1e-4}, {**b, "p_own": 1e-4}], 1e-3)
    assert res["verdict"] == "none of these models" and res["model"] is None
    # one passing candidate needs no sibling evidence; an uncalibrated one (s >= 1) never passes
    from srprint.attribution.jpeg_decide import UNCALIBRATED

    res = decide_jpeg([dict(a), {**_row("x4", 700, 1.0, ratio=1.1), **UNCALIBRATED}], 1e-3, rivals=False)
    assert res["verdict"] == "made by" and res["model"] == "s1"


def test_rival_rule_names_only_a_candidate_closer_than_to_other_models_outputs():
    from srprint.attribution.jpeg_decide import decide_jpeg

    a = _row("imdn", 1, 6e-4, ratio=0.01)
    res = decide_jpeg([dict(a)], 1e-3)  # the rival test not run: never named
    assert res["verdict"] == "none of these models" and "not run" in res["explanation"]
    # it fits other models' outputs as closely as this file: not named, and the line says why
    res = decide_jpeg([{**a, "p_rival": 0.3, "rival_min": 0.004}], 1e-3)
    assert res["verdict"] == "none of these models" and "other candidates' outputs" in res["explanation"]
    res = decide_jpeg([{**a, "p_rival": 1e-5, "rival_min": 0.1, "rivals": ["espcn"]}], 1e-3)
    assert res["verdict"] == "made by" and res["model"] == "imdn" and "espcn" in res["explanation"]
    res = decide_jpeg([{**a, "p_rival": None}], 1e-3)  # no other candidate could make a rival image
    assert res["verdict"] == "made by"


def test_none_names_the_smallest_p_and_the_smallest_statistic_when_they_differ():
    from srprint.attribution.jpeg_decide import decide_jpeg

    # measured at q 95 on the demo: s2's tighter calibration gave it the smaller p at the larger statistic
    s1, s2 = _row("s1", 30, 0.02, ratio=0.15), _row("s2", 90, 0.01, ratio=0.49)
    res = decide_jpeg([s1, s2], 1e-3)
    assert res["verdict"] == "none of these models" and res["closest"] == "s2"
    assert "least like its calibration, s2" in res["explanation"] and "smallest statistic is s1's" in res["explanation"]
    res = decide_jpeg([_row("s1", 30, 0.005, ratio=0.15), s2], 1e-3)
    assert "smallest statistic" not in res["explanation"]


def test_the_traced_window_is_the_most_informative_near_the_centre():
    photo = np.asarray(skimage_photos()["chelsea"][:128, :128], np.float32).copy()
    photo[:, :64] = photo[:, :64].mean((0, 1))  # the left half flat: no cell there constrains a model
    data = _jpeg(photo, quality=90)
    info = read_jpeg(data)
    crop = jt.aligned_jpeg_crop(info, _decoded(data), 2, 64)
    assert crop.size == 64 and crop.x0 == 64 and crop.y0 % 16 == 0  # the textured half, on the MCU grid
    centre = jt.aligned_jpeg_crop(info, _decoded(data), 2, 64, select=False)
    assert (centre.y0, centre.x0) == (32, 32)


def test_top_k_confirmation_is_the_answer_with_every_candidate(zoo, monkeypatch):
    """The demo's case (issue 27): the true model passes the photo null and its rival test; a flexible one (there,
    EDSR x2 on a x4 model's JPEG) passes the photo null too, and its own outputs do not rule it out, but it fits
    other candidates' outputs as closely as this file. The top-K path names the true model without inverting the
    other; every candidate inverted must give the same answer (it gave *none*: the JPEG cannot tell them apart)."""
    from srprint.attribution import jpeg_decide

    true, flexible, other = (z.id for z in zoo)
    rows = {true: _row(true, 29, 2e-9, ratio=0.07, null_min=1.0),
            flexible: _row(flexible, 5, 8.7e-4, ratio=0.08),
            other: _row(other, 15, 0.01, ratio=0.23)}
    # what each candidate reaches on its own outputs (own) and on the other candidates' outputs (rivals)
    own = {true: [0.05, 0.07, 0.09, 0.06, 0.08], flexible: [0.04, 0.09, 0.2, 0.06, 0.12],
           other: [0.1, 0.2, 0.15, 0.3, 0.2]}
    rival = {true: [0.92, 1.0, 1.05, 1.1, 0.98], flexible: [0.05, 0.1, 0.2, 0.08, 0.12],
             other: [0.3, 0.5, 0.4, 0.6, 0.45]}
    inverted = []

    def rows_of(decoded, info, entries, load, *, settings, progress=None):
        inverted.extend(e.id for e in entries)
        return [dict(rows[e.id]) for e in entries], []

    def calibration(entry, model, info, side, settings, *, own=False, rivals=None, use_cache=True):
        assert rivals is None or {e.id for e, _ in rivals} == {z.id for z in zoo} - {entry.id}  # never a subset
        return (rival if rivals else own_values)[entry.id]

    own_values = own
    monkeypatch.setattr(jpeg_decide, "jpeg_rows", rows_of)
    monkeypatch.setattr(jpeg_decide, "jpeg_calibration", calibration)
    data = _jpeg(skimage_photos()["coffee"][:64, :64], quality=90)
    info, img = read_jpeg(data), _decoded(data)
    answers = {}
    for propose in ({true}, None, {flexible}, {other, flexible}):
        inverted.clear()
        res = tr.trace_image(img, zoo, load_entry_model, settings=FAST, jpeg=info, propose=propose)
        answers[str(propose)] = (res["verdict"], res["model"])
        assert res["verdict"] == "made by" and res["model"] == true, (propose, res["explanation"])
        assert sorted(inverted) == sorted([true] if propose == {true} else [true, flexible, other])
    res = tr.trace_image(img, zoo, load_entry_model, settings=FAST, jpeg=info)
    assert flexible in res["explanation"] and "as close to other candidates' outputs" in res["explanation"]
    # both confirmed against each other (contradictory evidence): never a pick with every candidate
    rival[flexible] = [0.9, 1.0, 1.1, 0.95, 1.05]
    res = tr.trace_image(img, zoo, load_entry_model, settings=FAST, jpeg=info)
    assert res["verdict"] == "none of these models" and "cannot tell them apart" in res["explanation"]
