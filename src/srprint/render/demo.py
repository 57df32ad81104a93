"""The demo's render stage: the demo zoo rendered on tiles of scikit-image's bundled photos."""

from __future__ import annotations

from typing import Any

from ..errors import SrprintError
from ..progress import console
from .corpus import PrepareConfig, prepare_corpus
from .run import RenderConfig, render_dataset

DEMO_TILE = 128
DEMO_MAX_TILES = 12


def demo_stage(ctx: Any) -> dict[str, Any]:
    """Render the demo zoo on tiles of scikit-image's bundled photos (each tile its own source image).

    Six bundled photos give too few source images for a classifier, so each prepared photo is cut
    into non-overlapping 128x128 tiles (at most 12 per photo, flat tiles dropped), ids like
    ``skimage_astronaut_r0c1``. Rendering is idempotent, so a second demo run only verifies.

    Raises
    ------
    SrprintError
        On: "demo render: … model(s) failed: …".
    """

    corpus_dir = ctx.out / "render_corpus"
    corpus = prepare_corpus(["skimage:"], corpus_dir,
                            PrepareConfig(long_side=960, blur_sigma=0.5, tile=DEMO_TILE,
                                          max_tiles=DEMO_MAX_TILES, min_tile_std=0.03), name="skimage-tiles")
    out = ctx.out / "render"
    summary = render_dataset(ctx.zoo_dir, corpus_dir, out, cfg=RenderConfig(), device=ctx.device, **ctx.run_on)
    if summary.failures:
        raise SrprintError(f"demo render: {len(summary.failures)} model(s) failed: "
                           f"{next(iter(summary.failures.values()))}")
    console.print(f"rendered {summary.rendered} images ({summary.existing} already there) of "
                  f"{summary.n_models} models + HR on {len(corpus)} tiles: {out}")
    return {"render": str(out), "corpus": str(corpus_dir), "n_images": summary.manifest_rows,
            "n_source_images": summary.n_source_images, "n_models": summary.n_models,
            "rendered": summary.rendered, "images_per_s": round(summary.images_per_s, 2)}
