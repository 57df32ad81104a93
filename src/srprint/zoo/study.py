"""The zoo stage of the ``mini`` and ``paper`` studies, and the zoo-quality table.

The stage fills ``$SRPRINT_HOME/zoos/<preset>``: for ``mini`` it first copies the prebuilt mini zoo
from the shared data folder (``$SRPRINT_SHARED/data/zoos/mini``) entry by entry, then trains what is
still missing of the grid (resumable; finished models are skipped). When the shared published
checkpoints are present (``pretrained/models.csv``) it imports them into
``$SRPRINT_HOME/bench/pretrained_zoo`` (the benchmarks' folder, so both share the work) and links
the super-resolution ones into the study's zoo, so the render holds them next to the grid as the
"imported" models that parsing and open-set attribution score. Last it writes the ``zoo_quality``
table (Y-PSNR / SSIM against bicubic on Set5 and Set14, never trained on).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..config import shared_data_dir, srprint_home
from ..errors import SrprintError
from ..io.arrays import read_json_or_none
from ..progress import console

QUALITY_SETS = ("Set5", "Set14")
QUALITY_METRICS = ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim", "psnr_gain")


def pretrained_zoo_dir() -> Path:
    """Where the published checkpoints are imported (shared with ``bench/pretrained_quality.py``)."""
    return srprint_home() / "bench" / "pretrained_zoo"


def _copy_entry(entry: Path, zoo: Path) -> None:
    """Copy the entry folder ``entry`` into ``zoo``: to a hidden temporary folder, then renamed into place,
    so a kill never leaves a half-copied entry that later stages would take for a finished model."""
    tmp = zoo / f".{entry.name}.copying"
    shutil.rmtree(tmp, ignore_errors=True)  # a copy an earlier kill cut short
    shutil.copytree(entry, tmp)
    tmp.rename(zoo / entry.name)


def copy_prebuilt_zoo(src: str | Path, dst: str | Path) -> int:
    """Copy every entry of the zoo ``src`` missing from ``dst``; return how many were copied.

    Each entry is copied to a hidden temporary folder and renamed into place, so a kill never leaves
    a half-copied entry that later stages would take for a finished model.

    Raises
    ------
    OSError
        If ``dst`` cannot be written.
    """
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    copied = 0
    for entry in sorted(p for p in src.iterdir() if (p / "model.json").is_file()):
        if not (dst / entry.name).exists():
            _copy_entry(entry, dst)
            copied += 1
    return copied


def link_imported_sr(pretrained: Path, zoo: Path) -> int:
    """Copy the super-resolution entries of ``pretrained`` (scale > 1) into ``zoo``; return the count.

    Denoisers stay out: the render degrades by bicubic downscaling, which they do not undo.
    """
    n = 0
    for rec in sorted(pretrained.glob("*/model.json")):
        data = read_json_or_none(rec)
        labels = (data or {}).get("labels") or {}
        scale = labels.get("scale", (data or {}).get("scale"))
        if isinstance(scale, int) and scale >= 2 and not (zoo / rec.parent.name).exists():
            _copy_entry(rec.parent, zoo)
            n += 1
    return n


def zoo_quality(zoo: str | Path, specs: list[Any], *, device: str = "cpu") -> tuple[dict[str, Any], str]:
    """Y-PSNR / SSIM of the zoo models ``specs`` on Set5 and Set14 against bicubic: (result, Markdown).

    Raises
    ------
    DatasetError
        If Set5 or Set14 is missing from the shared data folder.
    KeyError
        If a spec is not in the zoo.
    """
    from ..io.images import list_images, read_image
    from .entry import Zoo
    from .model import load_model
    from .quality import evaluate_sr

    sets = {name: [(f.stem, read_image(f)) for f in list_images(shared_data_dir() / "images" / name)]
            for name in QUALITY_SETS}
    rows = []
    for s in specs:
        entry = Zoo(zoo).get(s.id)
        model = load_model(entry, device=device)
        row: dict[str, Any] = {"id": s.id, "arch": s.arch, "scale": s.scale, "iters": entry.iterations,
                               "params": entry.train.get("n_params"),
                               "train_seconds": entry.timings.get("train_seconds")}
        for name, imgs in sets.items():
            m = evaluate_sr(model, imgs)
            row[name] = {k: round(m[k], 4) for k in QUALITY_METRICS}
        row["beats_bicubic"] = all(row[n]["psnr_gain"] > 0 for n in sets)
        rows.append(row)
    md = ["# Zoo quality: tiny models vs bicubic (Y-PSNR dB / SSIM, border = scale)", "",
          f"Zoo `{zoo}`; evaluated on Set5 and Set14 (never trained on) with srprint's bicubic LR.", "",
          "| model | params | Set5 PSNR | bicubic | gain | Set14 PSNR | bicubic | gain | SSIM Set5 (bic) "
          "| beats bicubic |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a, b = r["Set5"], r["Set14"]
        md.append(f"| {r['id']} | {r['params'] or 0:,} | {a['psnr']:.2f} | {a['bicubic_psnr']:.2f} "
                  f"| {a['psnr_gain']:+.2f} | {b['psnr']:.2f} | {b['bicubic_psnr']:.2f} | {b['psnr_gain']:+.2f} | "
                  f"{a['ssim']:.4f} ({a['bicubic_ssim']:.4f}) | {'yes' if r['beats_bicubic'] else 'NO'} |")
    n_ok = sum(r["beats_bicubic"] for r in rows)
    md += ["", f"**{n_ok} / {len(rows)} models beat bicubic on both sets.**", ""]
    return {"zoo": str(zoo), "rows": rows}, "\n".join(md)


def quality_specs() -> list[Any]:
    """The zoo-quality table's models: ``{ARCH}-bsds-x{2,4}-L1-s1`` for every srprint architecture."""
    from .specs import ARCHS, ModelSpec

    return [ModelSpec(a, "bsds", s, "L1", 1) for a in ARCHS for s in (2, 4)]


def _import_published(zoo: Path) -> dict[str, Any]:
    manifest = shared_data_dir() / "pretrained" / "models.csv"
    if not manifest.is_file():
        return {"pretrained_zoo": None, "imported": 0}
    from .imports import import_manifest

    target = pretrained_zoo_dir()
    results = import_manifest(manifest, target)  # safe mode: a pickled module is refused, not run
    failed = [r for r in results if not r.get("ok") and not r.get("skipped")]
    linked = link_imported_sr(target, zoo)
    return {"pretrained_zoo": str(target), "imported": sum(bool(r.get("ok")) for r in results),
            "import_refused": [f"{r.get('id')}: {r.get('error')}" for r in failed], "linked_sr": linked}


def study_stage(ctx: Any, preset: str) -> dict[str, Any]:
    """Fill the study's zoo (prebuilt copy, training, published imports) and write ``zoo_quality``.

    Raises
    ------
    SrprintError
        If a grid model fails to train.
    """
    from ..result_tables import write_table
    from .api import preset_train_config, train_specs
    from .specs import resolve_grid

    zoo: Path = ctx.zoo_dir
    prebuilt = shared_data_dir() / "zoos" / preset
    copied = copy_prebuilt_zoo(prebuilt, zoo) if prebuilt.is_dir() else 0
    if copied:
        console.print(f"copied {copied} prebuilt models from {prebuilt} to {zoo}", highlight=False)
    grid = resolve_grid(preset)
    results = train_specs(grid.specs, zoo, preset_train_config(preset), device=ctx.device, **ctx.run_on)
    failed = [r for r in results if not r.ok]
    if failed:
        raise SrprintError(f"{preset} zoo: {len(failed)} model(s) failed to train: {failed[0].error}")
    summary: dict[str, Any] = {"zoo": str(zoo), "grid_models": len(grid.specs), "copied_prebuilt": copied,
                               **_import_published(zoo)}
    specs = [s for s in quality_specs() if s.id in set(grid.ids)]
    if specs:
        result, md = zoo_quality(zoo, specs, device=ctx.device)
        jp, _ = write_table(ctx.tables_dir, "zoo_quality", result, md)
        summary["table"] = str(jp)
        summary["beat_bicubic"] = f"{sum(r['beats_bicubic'] for r in result['rows'])}/{len(result['rows'])}"
    return summary


def mini_stage(ctx: Any) -> dict[str, Any]:
    """The ``mini`` study's zoo stage (see :func:`study_stage`)."""
    return study_stage(ctx, "mini")


def paper_stage(ctx: Any) -> dict[str, Any]:
    """The ``paper`` study's zoo stage: the reference grid trained on DIV2K / Flickr2K (a GPU's work)."""
    return study_stage(ctx, "paper")
