"""The demo trace stage: pixel traces and JPEG trace as two jobs, their rows in order, a failure in one line."""

from types import SimpleNamespace

import pytest

from srprint.attribution import trace_demo
from srprint.errors import SrprintError


def _fake_row(image, expected, model):
    return {"image": image, "expected": expected, "verdict": "made by" if model else "none of these models",
            "model": model, "correct": model == expected or (model is None and expected == "none of these models"),
            "best_residual": 0.0, "route": "test", "seconds": 0.0, "what": image, "explanation": "[not markup]"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_both_jobs_run_and_their_rows_keep_the_order(tmp_path, monkeypatch, jobs):
    seen = []

    def job(j):
        seen.append(j)
        if j["kind"] == "pixel":
            return [_fake_row("made.png", trace_demo.SOURCE, trace_demo.SOURCE),
                    _fake_row("photo.png", "none of these models", None)]
        return [_fake_row("made_x4_q90.jpg", trace_demo.JPEG_SOURCE, trace_demo.JPEG_SOURCE)]

    monkeypatch.setattr(trace_demo, "_job", job)
    sr = tmp_path / "sr.png"
    sr.write_bytes(b"")
    ctx = SimpleNamespace(out=tmp_path / "out", zoo_dir=tmp_path / "zoo", run_on={"jobs": jobs},
                          results={"zoo": {"sr_image": str(sr)}, "attribution": {"cnn_run": "run"}})
    res = trace_demo.demo_stage(ctx)
    assert [r["image"] for r in res["traces"]] == ["made.png", "photo.png", "made_x4_q90.jpg"]
    assert res["all_correct"] and all("explanation" not in r for r in res["traces"])
    assert sorted(j["kind"] for j in seen) == ["jpeg", "pixel"]
    jpeg = next(j for j in seen if j["kind"] == "jpeg")
    assert jpeg["sr_image"] == str(sr) and jpeg["cnn_run"] == "run"  # the classifier proposes

    def broken(j):
        if j["kind"] == "jpeg":
            raise SrprintError("no candidate model fits this image")
        return job(j)

    monkeypatch.setattr(trace_demo, "_job", broken)
    with pytest.raises(SrprintError, match="^demo trace: no candidate model fits this image$"):
        trace_demo.demo_stage(ctx)
