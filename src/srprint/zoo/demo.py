"""Demo stage of the zoo: train the demo grid on bundled photos and super-resolve one image."""

from __future__ import annotations

from typing import Any

from ..degradation import downscale_image
from ..errors import SrprintError
from ..io.images import center_crop, skimage_photos, write_png
from ..progress import console
from .api import preset_train_config, train_specs
from .model import load_model
from .specs import demo_grid
from .training_sets import SKIMAGE_HOLDOUT


def demo_stage(ctx: Any) -> dict[str, Any]:
    grid = demo_grid()
    cfg = preset_train_config("demo")
    results = train_specs(grid.specs, ctx.zoo_dir, cfg, device=ctx.device, **ctx.run_on)
    failed = [r for r in results if not r.ok]
    if failed:
        raise SrprintError(f"demo zoo: {len(failed)} model(s) failed: {failed[0].error}")
    for r in sorted(results, key=lambda r: r.value["id"]):
        v = r.value
        if not v.get("skipped"):
            console.print(f"trained {v['id']}: PSNR {v['psnr']:.2f} dB vs bicubic {v['bicubic_psnr']:.2f} dB")
    # super-resolve the held-out photo with the first x4 model
    entry_id = next(s.id for s in grid.specs if s.scale == 4)
    model = load_model(ctx.zoo_dir / entry_id, device=ctx.device)
    hr = center_crop(skimage_photos()[SKIMAGE_HOLDOUT], 256, multiple=4)
    lr = downscale_image(hr, 4)
    sr = model.run_image(lr, device=ctx.device)
    write_png(ctx.out / "lr.png", lr)
    write_png(ctx.out / f"sr_{entry_id}.png", sr)
    sr_path = ctx.out / f"sr_{entry_id}.png"
    console.print(f"super-resolved {SKIMAGE_HOLDOUT} 64x64 -> 256x256 with {entry_id}: {sr_path}")
    return {"zoo": str(ctx.zoo_dir), "models": grid.ids, "sr_image": str(ctx.out / f"sr_{entry_id}.png")}
