"""Independently trained networks of a suspect's own architecture, for the lineage null.

Why: networks of one small architecture trained apart on one task converge part of the way to one another.
Against a null of other architectures and random re-initialisations, 11 of 28 pairs of FSRCNN x4 networks
trained from different random starts were called *shared parent*; with four such networks among the
references, none was (``bench/results/verification_retrained*.md``). ``srprint verify pair --train-references K``
trains K of them (a random start, then the fine-tuning loop from scratch) and adds them to the references;
:func:`~srprint.verification.ownership.lineage_references` then fills the null with them (it takes the
suspect's architecture when at least 3 references have it). They are cached, keyed by the network's layout
and the recipe, so a second verdict on the same architecture trains nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# from scratch: 1500 Adam steps at lr 5e-4 on 64-px crops of the BSD68 pool (about 10 s for ESPCN, 2 min for
# IMDN x4 on 2 cores); the recipe of the measurement that motivated the option
TRAIN_RECIPE: dict[str, Any] = {"iters": 1500, "lr": 5e-4, "batch": 8, "patch": 64, "data": "bsd68"}
FIRST_SEED = 1000  # reference k uses seed FIRST_SEED + k (its random start and its crops)
MAX_TRAINED_REFERENCES = 32


def _folder_key(entry: Any, model: Any, recipe: dict[str, Any]) -> str:
    from .null_cache import shape_signature

    blob = json.dumps({"shapes": shape_signature(model), "arch": entry.arch, "arch_config": entry.arch_config,
                       "loader": entry.loader, "task": entry.task, "scale": entry.scale, "recipe": recipe},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def trained_references(
    entry: Any,
    k: int,
    *, recipe: dict[str, Any] | None = None,
    device: str = "cpu",
    folder: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """``k`` networks of ``entry``'s architecture, each re-initialised at random and trained from scratch.

    Parameters
    ----------
    entry : ZooEntry
        The model whose architecture is copied (its weights are not used, only its layout).
    k : int
        How many (0 to :data:`MAX_TRAINED_REFERENCES`).
    recipe : dict, optional
        The fine-tuning loop's parameters (default :data:`TRAIN_RECIPE`); the seed is set per reference.
    device : str, optional
        Torch device of the training.
    folder : Path, optional
        Where the references are kept (default ``$SRPRINT_HOME/verification/trained-references/<key>``,
        keyed by the layout and the recipe); each is a zoo entry, written atomically, reused when present.
    progress : callable, optional
        Called as ``progress(done, k)`` after each reference.

    Returns
    -------
    list of ZooEntry
        The references, in seed order. None shares a lineage label with ``entry``.

    Raises
    ------
    SrprintError
        If ``k`` is out of range, or a training step turns non-finite.
    """
    from ..config import srprint_home
    from ..errors import SrprintError
    from ..io.checkpoints import save_weights
    from ..zoo.entry import ZooEntry, library_versions, write_entry_folder
    from .fingerprint import load_entry_model

    if not 0 <= int(k) <= MAX_TRAINED_REFERENCES:
        raise SrprintError(f"trained references: {k} is out of range (0 to {MAX_TRAINED_REFERENCES})")
    if k == 0:
        return []
    recipe = dict(recipe or TRAIN_RECIPE)
    root = Path(folder) if folder is not None else (srprint_home() / "verification" / "trained-references"
                                                    / _folder_key(entry, load_entry_model(entry, device=device),
                                                                  recipe))
    slug = re.sub(r"[^A-Za-z0-9_.+-]", "_", str(entry.arch)) or "net"
    out: list[Any] = []
    for i in range(int(k)):
        seed = FIRST_SEED + i
        path = root / f"trained-ref-{slug}-s{seed}"
        if (path / "model.json").is_file() and (path / "model.safetensors").is_file():
            out.append(ZooEntry.load(path))
        else:
            new_state, psnr, seconds = train_from_scratch(entry, seed=seed, recipe=recipe, device=device)
            ref = dataclasses.replace(
                entry, id=path.name, path=None, spec=None, imported=None, source="trained",
                labels={"arch": entry.arch, "scale": entry.scale, "task": entry.task, "source": "trained",
                        "trained_reference": {**recipe, "seed": seed}},
                metrics={"heldout_psnr": psnr}, timings={"train_seconds": seconds}, versions=library_versions())
            try:
                out.append(write_entry_folder(path, ref, lambda p, s=new_state: save_weights(p, s)))
            except OSError as exc:
                raise SrprintError(f"cannot write the trained reference {path}: {exc.strerror or exc}") from exc
        if progress is not None:
            progress(i + 1, int(k))
    return out


def train_from_scratch(entry: Any, *, seed: int, recipe: dict[str, Any],
                       device: str = "cpu") -> tuple[dict[str, Any], float, float]:
    """``entry``'s network re-initialised at random (:func:`~srprint.verification.lineage.randomised_copy`) and
    trained from scratch by the fine-tuning loop (:func:`~srprint.verification.finetuning.finetune_model`, with
    ``recipe``); ``seed`` draws the start and the crops. The one training both the trained references and the
    benchmarks' independent models of a published architecture use.

    Returns
    -------
    tuple
        The trained weights under the keys of ``entry``'s weights file (its dtypes), the held-out PSNR
        (:func:`~srprint.verification.finetuning.task_psnr`), and the seconds taken.

    Raises
    ------
    SrprintError
        If a training step turns non-finite, or the network's weights cannot be mapped back to the file's keys.
    """
    import torch

    from ..io.checkpoints import load_weights
    from .attacks import _match_keys
    from .finetuning import finetune_model, heldout_photos, task_psnr
    from .fingerprint import load_entry_model
    from .lineage import randomised_copy

    t0 = time.perf_counter()
    state = load_weights(entry.weights_path)
    model = load_entry_model(entry, device=device)
    key_map = _match_keys(model.net.state_dict(), state)  # by name or value: before the weights are redrawn
    model.net = randomised_copy(model.net, seed)
    torch.manual_seed(seed)
    finetune_model(model, entry.task, {**recipe, "seed": seed}, device)
    trained = model.net.state_dict()
    new_state = {kf: trained[kn].detach().cpu().to(state[kf].dtype).contiguous() for kf, kn in key_map.items()}
    psnr = task_psnr(model, heldout_photos(96), entry.task, device=device)
    return new_state, psnr, round(time.perf_counter() - t0, 2)
