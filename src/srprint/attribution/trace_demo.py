"""``srprint demo`` stage: trace a demo model's output to that model (as a PNG and as a JPEG of q 90), and a
real photo to none of them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..progress import console

SOURCE = "EDSR-skimage-x2-L1-s1"
CROP = 48
JPEG_CROP = 64
JPEG_QUALITY = 90


def demo_stage(ctx: Any) -> dict[str, Any]:
    from ..degradation import bicubic_downscale
    from ..io.images import skimage_photos, write_png
    from ..verification.fingerprint import load_entry_model
    from ..zoo.entry import Zoo
    from ..zoo.training_sets import SKIMAGE_HOLDOUT
    from .jpeg_file import read_jpeg
    from .trace import TraceSettings, candidates, trace_image

    t0 = time.perf_counter()
    out = ctx.out / "trace"
    out.mkdir(parents=True, exist_ok=True)
    entries = Zoo(ctx.zoo_dir).entries()
    models = {e.id: load_entry_model(e) for e in entries}
    photo = skimage_photos()[SKIMAGE_HOLDOUT]  # the held-out photo: no model trained on it, no calibration uses it
    hr = torch.from_numpy(np.ascontiguousarray(photo[100:100 + CROP, 200:200 + CROP].transpose(2, 0, 1))).float()
    with torch.no_grad():
        made = models[SOURCE].infer(bicubic_downscale(hr[None], 2, quantize=True))[0].numpy().transpose(1, 2, 0)
    big = torch.from_numpy(np.ascontiguousarray(photo[100:100 + JPEG_CROP, 200:200 + JPEG_CROP]
                                                .transpose(2, 0, 1))).float()
    with torch.no_grad():
        made_big = models[SOURCE].infer(bicubic_downscale(big[None], 2, quantize=True))[0].numpy().transpose(1, 2, 0)
    images = {"made": np.round(made * 255) / 255,
              "photo": np.round(photo[300:300 + CROP, 100:100 + CROP] * 255) / 255,
              "made_q90": np.round(made_big * 255) / 255}
    # the demo's calibration: 8 photo crops per model (the library default, 32, would add minutes)
    settings = TraceSettings(n_calibration=8, n_jpeg_calibration=4, jpeg_steps=100)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread is faster than two for these tiny nets on a busy 2-core machine
    rows = []
    try:
        for name, img in images.items():
            t_img = time.perf_counter()
            if name == "made_q90":  # a JPEG of the model's output: traced by the requantisation test
                data = _jpeg_bytes(img, JPEG_QUALITY)
                (out / "made_q90.jpg").write_bytes(data)
                info = read_jpeg(data)
                img = _decoded(data)
                cands = [e for e in candidates(entries, img.shape) if e.scale == 2]  # the x2 models (time)
                res = trace_image(img, cands, lambda e: models[e.id], settings=settings, jpeg=info)
                shown = "made_q90.jpg"
            else:
                write_png(out / f"{name}.png", img)
                res = trace_image(img, candidates(entries, img.shape), lambda e: models[e.id], settings=settings)
                shown = f"{name}.png"
            expected = SOURCE if name.startswith("made") else None
            ok = res.get("model") == expected
            colour = "green" if ok else "red"
            label = f"{res['verdict']}{' ' + res['model'] if res.get('model') else ''}"
            console.print(f"trace {shown} ({'made by ' + SOURCE if expected else 'a real photo'}): "
                          f"[{colour}]{label}[/] - {res['explanation']}", highlight=False)
            rows.append({"image": shown, "expected": expected or "none of these models",
                         "verdict": res["verdict"], "model": res.get("model"), "correct": ok,
                         "best_residual": res["candidates"][0]["residual"] if res["candidates"] else None,
                         "seconds": round(time.perf_counter() - t_img, 1)})
    finally:
        torch.set_num_threads(threads)
    return {"traces": rows, "all_correct": all(r["correct"] for r in rows),
            "stage_seconds": round(time.perf_counter() - t0, 1)}


def _jpeg_bytes(img: np.ndarray, quality: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((img * 255).round().astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _decoded(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255
