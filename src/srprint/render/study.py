"""The render stage of the ``mini`` and ``paper`` studies: the study's zoo on the mini render corpus.

The corpus is BSDS500 ``val``, Kodak24, Set5 and Set14 (never in a training set), prepared once
under ``$SRPRINT_HOME/corpora/mini``. Every image is centre-cropped to 192 px, the crop the
committed ``bench/results`` tables were made with, and the render goes to its default folder
``$SRPRINT_HOME/renders/<zoo>-mini-<config hash>``, so the benchmarks find the same render.
Rendering is resumable: finished images are kept and a rerun only checks them.
"""

from __future__ import annotations

from typing import Any

from ..config import srprint_home
from ..errors import SrprintError
from ..progress import console
from .corpus import PrepareConfig, prepare_corpus
from .run import RenderConfig, default_render_dir, render_dataset

STUDY_HR_CROP = 192


def study_stage(ctx: Any) -> dict[str, Any]:
    """Prepare the mini corpus and render the study's zoo on it.

    Raises
    ------
    DatasetError
        If the shared corpus photos are missing.
    SrprintError
        If a model fails to render (the others are kept; a rerun retries it).
    """
    corpus_dir = srprint_home() / "corpora" / "mini"
    corpus = prepare_corpus(["mini:"], corpus_dir, PrepareConfig(), name="mini")
    cfg = RenderConfig(hr_crop=STUDY_HR_CROP)
    out = default_render_dir(ctx.zoo_dir, corpus, cfg)
    summary = render_dataset(ctx.zoo_dir, corpus_dir, out, cfg=cfg, device=ctx.device, **ctx.run_on)
    if summary.failures:
        raise SrprintError(f"render: {len(summary.failures)} model(s) failed (rerun to retry them): "
                           f"{next(iter(summary.failures.values()))}")
    console.print(f"rendered {summary.rendered} images ({summary.existing} already there) of "
                  f"{summary.n_models} models + HR on {len(corpus)} photos: {out}", highlight=False)
    return {"render": str(out), "corpus": str(corpus_dir), "n_images": summary.manifest_rows,
            "n_source_images": summary.n_source_images, "n_models": summary.n_models,
            "rendered": summary.rendered, "images_per_s": round(summary.images_per_s, 2)}
