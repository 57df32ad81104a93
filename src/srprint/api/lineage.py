"""Which known model is this checkpoint? ``lineage``: one lookup in a lineage index (``srprint lineage``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import resolves_device
from .model import Model
from .results import Result


@dataclass(frozen=True)
class Lineage(Result):
    """The relation of a model to the models of a lineage index.

    Attributes
    ----------
    answer : str
        ``same model``, ``derived from``, ``shares a parent with`` ... or ``unknown``.
    match : str or None
        The indexed model it is related to.
    text : str
        One sentence: the answer in words.
    fwer : float or None
        The family-wise error rate of the answer over the indexed models of its group.
    suspect : str
        The model looked up.
    relations : tuple of dict
        Every confirmed candidate (relation, verdict, function PSNR, p-value, FWER).
    candidates : tuple of dict
        The nearest sketches (id, sketch distance).
    details : dict
        Everything else the lookup measured (group, timings, flags).
    """

    answer: str
    match: str | None
    text: str
    fwer: float | None
    suspect: str
    relations: tuple[dict[str, Any], ...]
    candidates: tuple[dict[str, Any], ...]
    details: dict[str, Any]


@resolves_device
def lineage(model: str | Path | Model, *, index: str | Path, k: int = 10, confirm: int = 3, alpha: float = 0.05,
            allow_pickle: bool = False, device: str = "auto") -> Lineage:
    """Look a model up in a lineage index: the same model, derived from one, sharing a parent, or unknown.

    The model's short functional sketch finds the ``k`` nearest indexed models in one query; the
    nearest ``confirm`` are then confirmed by the ownership verdict (:func:`srprint.verify`'s test),
    with Holm's correction over the indexed models. Build an index with ``srprint lineage index`` (or
    :func:`srprint.lineage.build.index_models`).

    Parameters
    ----------
    model : str, Path or Model
        A zoo entry folder, a checkpoint file, or a model descriptor.
    index : str or Path
        The lineage index folder.
    k : int
        Candidates taken from the sketch index.
    confirm : int
        Nearest candidates confirmed by the ownership verdict.
    alpha : float
        The family-wise error rate a relation must stay below.
    allow_pickle : bool
        Allow full unpickling of a checkpoint file (runs code from the file). Off by default.
    device : str
        ``auto``, ``cpu`` or ``cuda[:N]``; validated (the lookup runs its models on the CPU today).

    Returns
    -------
    Lineage
        The answer and its evidence.

    Raises
    ------
    SrprintError
        If ``model`` is not one readable model, or the index is missing or corrupt.

    Examples
    --------
    >>> r = srprint.lineage("suspect.pth", index="lineage_index")  # doctest: +SKIP
    >>> r.answer, r.match  # doctest: +SKIP
    ('same model', 'EDSR-skimage-x2-L1-s1')
    """
    from ..lineage.query import query_file

    del device  # lineage/query.py loads its models on the CPU
    path = model.weights.parent if isinstance(model, Model) and model.weights is not None else Path(str(model))
    res = query_file(path, Path(index), k=k, n_confirm=confirm, alpha=alpha, allow_pickle=allow_pickle)
    keys = ("answer", "match", "text", "fwer", "suspect", "relations", "candidates")
    return Lineage(res["answer"], res.get("match"), res["text"], res.get("fwer"), res["suspect"],
                   tuple(res.get("relations", ())), tuple(res.get("candidates", ())),
                   {k: v for k, v in res.items() if k not in keys})
