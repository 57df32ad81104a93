"""The backbone comparison (the study's Table 2): every backbone trained on one render subset, same budget.

Every backbone gets the same crop, epochs, batch size, learning rate and per-class image cap, and no
early stop. :func:`run_backbones_protocol` is shared by ``bench/attribution_backbones.py`` and the
study's :func:`backbones_stage` (also importable from :mod:`.protocol`); runs live under
``$SRPRINT_HOME/bench/<name>/<config hash>/`` by default and are reused when complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import resolves_device
from ..progress import console
from .protocol_common import classifier_config, require_render, stage_render

BACKBONES = ("convnext_atto", "legacy_xception", "efficientnet_b2", "resnet50")
BACKBONES_TABLE = "attribution_backbones"


@dataclass(frozen=True)
class BackbonesProtocol:
    """Options of the backbone comparison; the defaults are ``bench/attribution_backbones.py``'s.

    ``where`` is the subset (a manifest filter); the classifier options not listed here keep
    :class:`~srprint.classify.run_folder.ClassifierConfig`'s defaults.
    """

    where: str = "source=trained,scale=4,seed=1"
    backbones: tuple[str, ...] = BACKBONES
    input: str = "dct"
    crop: int = 96
    head_epochs: int = 1
    epochs: int = 6
    batch_size: int = 16
    lr: float = 5e-4
    max_per_class: int | None = 64
    note: str = ""


@resolves_device
def run_backbones_protocol(
    data: str | Path,
    *,
    protocol: BackbonesProtocol = BackbonesProtocol(),  # frozen: one shared default is safe
    device: str = "auto",
    name: str = BACKBONES_TABLE,
    work: str | Path | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train and evaluate every backbone of ``protocol`` on the subset of ``data``.

    Parameters
    ----------
    data : str or Path
        The render folder.
    protocol : BackbonesProtocol
        The options (default: the bench's).
    device : str
        Torch device (``auto``: CUDA when available).
    name : str
        The table's name.
    work : str or Path, optional
        Root of the run folders (default ``$SRPRINT_HOME/bench/<name>``); each backbone's run goes to
        ``<work>/<config hash>`` and is reused when complete.
    on_row : callable, optional
        Called with the partial result after every backbone, so a caller can write the rows done so far
        (a killed run keeps them).

    Returns
    -------
    dict
        ``name, data, device, subset`` (models and images), ``config``, ``rows`` (one per backbone:
        ``backbone, params_m, test_acc, seed_group_acc, train_s, run``) and ``per_backbone`` (each
        backbone's evaluation).

    Raises
    ------
    DatasetError
        If ``data`` is not a render or ``protocol.where`` matches no image.
    SrprintError
        For an unknown device or backbone.
    """
    from ..attribution.evaluate import evaluate_run
    from ..classify.backbones import create_backbone
    from ..classify.train import train_run
    from ..config import config_hash, srprint_home
    from ..render.manifest import RenderedDataset

    data = require_render(data, "the backbone comparison")
    ds = RenderedDataset.open(data, where=protocol.where)  # DatasetError when the subset is empty
    root = Path(work) if work is not None else srprint_home() / "bench" / name
    result: dict[str, Any] = {
        "name": name,
        "data": str(data),
        "device": device,
        "subset": {"models": int(ds.frame["model_id"].nunique()), "images": len(ds.frame)},
        "config": {"data": str(data), "name": name, **asdict(protocol), "device": device},
        "rows": [],
        "per_backbone": {},
    }
    for bb in protocol.backbones:
        cfg = classifier_config(protocol, backbone=bb, patience=protocol.epochs)  # same budget: no early stop
        # the key the bench script always used: runs made before this module existed are reused
        out = root / config_hash({"data": str(data), "where": protocol.where, "cfg": cfg})
        t = time.perf_counter()
        run = train_run(data, out, cfg, where=protocol.where, device=device)
        train_s = time.perf_counter() - t
        res = evaluate_run(run, device=device, figures=False)
        params = sum(p.numel() for p in create_backbone(bb, 2).parameters())
        result["rows"].append(
            {
                "backbone": bb,
                "params_m": params / 1e6,
                "test_acc": res["overall_acc"],
                "seed_group_acc": (res.get("seed_groups") or {}).get("mean_acc"),
                "train_s": train_s,
                "run": str(run),
            }
        )
        result["per_backbone"][bb] = res
        console.print(f"{bb}: {100 * res['overall_acc']:.1f} % ({train_s:.0f}s)", highlight=False)
        if on_row is not None:
            on_row(result)
    return result


def backbones_markdown(result: dict[str, Any]) -> str:
    """The Markdown table of a :func:`run_backbones_protocol` result (complete or partial)."""
    conf, n_models = result["config"], result["subset"]["models"]
    md = [
        f"# Backbone comparison: {result['name']}",
        "",
        f"Render `{result['data']}`, subset `{conf['where']}` ({n_models} models, {result['subset']['images']} "
        f"images); input {conf['input']}, crop {conf['crop']}, "
        f"{conf['head_epochs']}+{conf['epochs']} epochs, batch {conf['batch_size']}, lr {conf['lr']}, "
        f"<= {conf['max_per_class']} train images per model; device {result['device']}. "
        f"Chance {100 / n_models:.1f} %.",
        "",
        *([f"**{conf['note']}**", ""] if conf["note"] else []),
        "| backbone | params (M) | test accuracy | train time (s) |",
        "|---|---:|---:|---:|",
    ]
    md += [
        f"| {r['backbone']} | {r['params_m']:.1f} | {100 * r['test_acc']:.1f} % | {r['train_s']:.0f} |"
        for r in result["rows"]
    ]
    return "\n".join(md) + "\n"


# the options of the study's stage: the bench's defaults (one place to change what the study runs)
# the options the committed bench/results/attribution_backbones.json records in its "config"
BACKBONES_STAGE_PROTOCOL = BackbonesProtocol(where="source=trained,scale=4,seed=1,dataset=bsds", crop=64,
                                             head_epochs=0, epochs=5, max_per_class=48)


def backbones_stage(ctx: Any, *, protocol: BackbonesProtocol | None = None) -> dict[str, Any]:
    """The study's backbone stage: the comparison on the render stage's render, as ``tables/attribution_backbones``.

    The table is rewritten after every backbone, so a killed study keeps the rows done (and the
    finished runs are reused when the stage reruns).

    Parameters
    ----------
    ctx : StudyContext
        Reads ``ctx.results['render']['render']``, ``ctx.device`` and ``ctx.tables_dir``.
    protocol : BackbonesProtocol, optional
        The options (default :data:`BACKBONES_STAGE_PROTOCOL`, the bench's defaults).

    Returns
    -------
    dict
        ``table`` (the JSON path), ``markdown`` and ``test_acc`` by backbone.

    Raises
    ------
    SrprintError
        If the render stage has not run; otherwise as :func:`run_backbones_protocol`.
    """
    from ..result_tables import write_table

    render = stage_render(ctx, "the backbone stage")
    tables = Path(ctx.tables_dir)

    def write(partial: dict[str, Any]) -> tuple[Path, Path]:
        return write_table(tables, BACKBONES_TABLE, partial, backbones_markdown(partial))

    result = run_backbones_protocol(render, protocol=protocol or BACKBONES_STAGE_PROTOCOL, device=ctx.device,
                                    name=BACKBONES_TABLE, on_row=write)
    jp, mp = write(result)
    return {"table": str(jp), "markdown": str(mp),
            "test_acc": {r["backbone"]: r["test_acc"] for r in result["rows"]}}
