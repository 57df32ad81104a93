"""Independent models of the lineage benchmark's root architectures (issue 28, v15): each a fresh random
initialisation of a root's own network, trained from scratch with the fine-tuning loop. They share the
root's architecture and layout (the same sketch group, the same weight shapes) and nothing else, so they
are the hardest independent models the population has: a lineage method that links by architecture alone
would link them. Made and scored after every rule of the lineage answer was written (none was set on them).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

# roots whose network trains from a random start with a plain Adam step (FMEN's merged form collapses
# under one, LapSRN takes 160 ms a step here); the first four of v15, then the rest
RETRAINED_ROOTS = ("fsrcnn_opencv_x4", "espcn_opencv_x4", "fsrcnn-small_opencv_x4", "imdn_official_x4",
                   "rfdn_aim2020_x4", "rlfn-s_official_x4", "span-ch28_ntire2024_x4", "safmn_ntire2023_x4",
                   "efdn_ntire2022_x4", "bsrn_ntire2022_x4")
# from scratch: 5x the fine-tunes' learning rate, 15x their steps, larger crops (about 2 min a model here)
RETRAIN = {"iters": 1500, "lr": 5e-4, "batch": 8, "patch": 64, "data": "bsd68"}
RETRAIN_SEED = 7  # the initialisation's seed (randomised_copy) and the crops' seed


def retrained_id(root_id: str) -> str:
    """The id of ``root_id``'s retrained model: it does not start with the root's id, so the benchmark's
    family of it is itself (``_lineage_report.family``), and any answer naming the root is a false link."""
    return f"retrained-{root_id}"


def retrain(root: Any, out: Path, *, seed: int = RETRAIN_SEED, model_id: str | None = None) -> Any:
    """``root``'s network re-initialised and trained from scratch, by the library's trained references' own
    training (:func:`srprint.verification.trained_references.train_from_scratch`, :data:`RETRAIN`; ``seed``
    draws the initialisation and the crops), saved as the zoo entry ``out`` with id ``model_id`` (default
    :func:`retrained_id`); the record names no parent (``labels['independent_of']`` says which root it mirrors).
    An entry already there is returned as is."""
    from srprint.io.checkpoints import save_weights
    from srprint.verification.trained_references import train_from_scratch
    from srprint.zoo.entry import ZooEntry, library_versions, write_entry_folder

    if (out / "model.json").is_file():
        return ZooEntry.load(out)
    new_state, psnr, seconds = train_from_scratch(root, seed=seed, recipe=RETRAIN)
    labels = {k: v for k, v in (root.labels or {}).items() if k not in ("declared_parent", "parent")}
    entry = dataclasses.replace(
        root, id=model_id or retrained_id(root.id.removesuffix("-pretrained")), path=None, imported=None,
        labels={**labels, "source": "trained", "independent_of": root.id,
                "retrain": {**RETRAIN, "seed": seed}},
        metrics={"heldout_psnr": psnr}, timings={"train_seconds": seconds}, versions=library_versions())
    return write_entry_folder(out, entry, lambda path: save_weights(path, new_state))


def add_retrained(pop: dict[str, Any], state: Path, *, build: bool) -> None:
    """Put the retrained models (made now when ``build``) among ``pop``'s independent models."""
    from srprint.zoo.entry import ZooEntry

    for rid in RETRAINED_ROOTS:
        out = state / "retrained" / retrained_id(rid)
        try:
            if rid not in pop["roots"]:
                raise FileNotFoundError(f"root {rid} is not in the population")
            if not build and not (out / "model.json").is_file():
                raise FileNotFoundError(f"{out} was not made (report only)")
            e = retrain(ZooEntry.load(pop["roots"][rid]), out)
            pop["independent"][e.id] = str(e.path)
        except Exception as exc:  # noqa: BLE001 - one failing model must not stop the population
            pop["failed"][retrained_id(rid)] = f"{type(exc).__name__}: {exc}"[:200]
