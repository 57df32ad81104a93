"""Render throughput: ``srprint render`` (the library call behind it) vs bare model forward passes.

One process, one run: a zoo of the 5 tiny archs at x2 and x4 (seeded, untrained weights - speed does
not depend on training) renders a corpus of 256x256 HR crops (tiles of scikit-image's bundled photos).
The bare baseline times only ``model.infer`` on the very same LR batches (same batch size), after
warm-up; it is measured before and after the render and averaged, to damp load changes on a shared
machine. The projection for the ``mini`` zoo (60 models x 140 usable of the 142 images at 256x256) uses the measured
per-(arch, scale) bare throughput divided by the measured render efficiency.

    python bench/render_throughput.py [--images 8] [--batch 8]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from _common import write_results  # noqa: E402
from srprint.degradation import bicubic_downscale, to_tensor  # noqa: E402
from srprint.io.checkpoints import save_weights  # noqa: E402
from srprint.io.images import center_crop, read_image  # noqa: E402
from srprint.render.corpus import Corpus, PrepareConfig, prepare_corpus  # noqa: E402
from srprint.render.run import RenderConfig, render_dataset  # noqa: E402
from srprint.zoo.archs import arch_config, create_arch  # noqa: E402
from srprint.zoo.entry import WEIGHTS_FILE, ZooEntry, labels_for_spec  # noqa: E402
from srprint.zoo.model import load_model  # noqa: E402
from srprint.zoo.specs import ARCHS, ModelSpec, mini_grid  # noqa: E402

MINI_IMAGES = 100 + 24 + 5 + 13 - 2  # BSDS500 val + Kodak24 + Set5 + Set14; Set5 woman, Set14 comic < 256 px
HR = 256


def build_zoo(root: Path) -> list[ModelSpec]:
    specs = [ModelSpec(a, "bench", s, "L1", 1) for a in ARCHS for s in (2, 4)]
    for spec in specs:
        torch.manual_seed(0)
        cfg = arch_config(spec.arch, "tiny")
        net = create_arch(spec.arch, spec.scale, config=cfg)
        folder = root / spec.id
        save_weights(folder / WEIGHTS_FILE, net.state_dict())
        ZooEntry(id=spec.id, source="trained", arch=spec.arch, scale=spec.scale, arch_config=cfg,
                 spec=spec.to_dict(), labels=labels_for_spec(spec), path=folder).save(folder)
    return specs


def bare_seconds(zoo: Path, specs: list[ModelSpec], corpus: Corpus, batch: int) -> dict[str, float]:
    """Seconds of ``model.infer`` alone per model on the render's LR batches (after one warm-up pass)."""
    hrs = [to_tensor(read_image(corpus.path(im))) for im in corpus.images]
    out = {}
    for spec in specs:
        model = load_model(zoo / spec.id)
        lrs = [bicubic_downscale(to_tensor(center_crop(h.numpy().transpose(1, 2, 0), HR, spec.scale)), spec.scale)
               for h in hrs]
        batches = [torch.stack(lrs[i: i + batch]) for i in range(0, len(lrs), batch)]
        model.infer(batches[0][:1])  # warm-up
        t = time.perf_counter()
        for xb in batches:
            model.infer(xb)
        out[spec.id] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    work = Path(tempfile.mkdtemp(prefix="srprint-bench-render-"))
    try:
        zoo = work / "zoo"
        specs = build_zoo(zoo)
        corpus = prepare_corpus(["skimage:"], work / "corpus",
                                PrepareConfig(long_side=960, blur_sigma=0.5, tile=HR, max_tiles=2,
                                              min_tile_std=0.03, limit=args.images))
        n = len(corpus)
        # warm-up of the render path itself (one image, throw-away folder)
        render_dataset(zoo, work / "corpus", work / "warm", models=specs[0].id,
                       cfg=RenderConfig(hr_crop=HR, batch_size=args.batch), device="cpu", include_real=False)
        bare1 = bare_seconds(zoo, specs, corpus, args.batch)
        t = time.perf_counter()
        summary = render_dataset(zoo, work / "corpus", work / "render",
                                 cfg=RenderConfig(hr_crop=HR, batch_size=args.batch), device="cpu",
                                 include_real=False)
        render_s = time.perf_counter() - t
        bare2 = bare_seconds(zoo, specs, corpus, args.batch)
        assert summary.rendered == n * len(specs) and not summary.failures, summary.failures
        bare = {k: (bare1[k] + bare2[k]) / 2 for k in bare1}
        bare_total = sum(bare.values())
        images = n * len(specs)
        bare_ips, render_ips = images / bare_total, images / render_s
        efficiency = render_ips / bare_ips
        per_model = {s.id: {"arch": s.arch, "scale": s.scale, "bare_images_per_s": round(n / bare[s.id], 3),
                            "render_infer_s": round(next(m["infer_seconds"] for m in summary.per_model
                                                         if m["model_id"] == s.id), 3),
                            "render_load_s": round(next(m["load_seconds"] for m in summary.per_model
                                                        if m["model_id"] == s.id), 3),
                            "render_total_s": next(m["seconds"] for m in summary.per_model
                                                   if m["model_id"] == s.id)}
                     for s in specs}
        # projection: mini zoo = 60 models x 142 images at 256x256, at the measured render efficiency
        counts = Counter((s.arch, s.scale) for s in mini_grid().specs)
        by_arch_scale = {(v["arch"], v["scale"]): v["bare_images_per_s"] for v in per_model.values()}
        mini_s = sum(c * MINI_IMAGES / by_arch_scale[k] for k, c in counts.items()) / efficiency
        data = {
            "n_images": n, "hr_crop": HR, "batch_size": args.batch, "n_models": len(specs),
            "bare_seconds": round(bare_total, 2), "bare_seconds_before": round(sum(bare1.values()), 2),
            "bare_seconds_after": round(sum(bare2.values()), 2), "render_seconds": round(render_s, 2),
            "render_infer_seconds": round(summary.infer_seconds, 2),
            "bare_images_per_s": round(bare_ips, 3), "render_images_per_s": round(render_ips, 3),
            "efficiency": round(efficiency, 3),
            "infer_share_of_render": round(summary.infer_seconds / render_s, 3),
            "target": 0.9, "meets_target": efficiency >= 0.9,
            "per_model": per_model,
            "mini_projection": {"models": len(mini_grid().specs), "images_per_model": MINI_IMAGES, "hr_crop": HR,
                                "arch_scale_counts": {f"{a}-x{s}": c for (a, s), c in sorted(counts.items())},
                                "projected_seconds": round(mini_s, 1), "projected_hours": round(mini_s / 3600, 2)},
        }
        rows = "\n".join(f"| {k} | {v['bare_images_per_s']:.2f} | {v['render_infer_s']:.2f} | "
                         f"{v['render_load_s']:.2f} | {v['render_total_s']:.2f} |" for k, v in per_model.items())
        md = (
            "# Render throughput\n"
            f"{len(specs)} tiny models (5 archs x {{x2, x4}}) x {n} HR crops of {HR}x{HR}, batch {args.batch}, CPU.\n\n"
            f"| measure | value |\n|---|---|\n"
            f"| bare forward passes (mean of before/after) | {bare_total:.2f} s ({bare_ips:.2f} img/s) |\n"
            f"| render (read, crop, bicubic LR, model, PNG, manifest) | {render_s:.2f} s ({render_ips:.2f} img/s) |\n"
            f"| efficiency render / bare | **{efficiency:.1%}** (target 90%: "
            f"{'met' if efficiency >= 0.9 else 'NOT met'}) |\n"
            f"| share of the render's wall time spent in model forward passes (same window) | "
            f"{summary.infer_seconds / render_s:.1%} |\n"
            f"| projected `mini` render (60 models x {MINI_IMAGES} images, {HR}px) | "
            f"{mini_s / 3600:.2f} h ({mini_s:.0f} s) |\n\n"
            "| model | bare img/s | render: inference s | render: model load s | render: job s |\n"
            "|---|---|---|---|---|\n" + rows + "\n\n"
            "The machine is shared by several developers (see load average): bare timings are taken before and "
            "after the render and averaged.\n"
        )
        jp, mp = write_results("render_throughput", data, md)
        print(md)
        print(f"wrote {jp} and {mp}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
