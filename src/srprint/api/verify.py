"""Is a suspect model a copy of a source? ``verify``: weight lineage, or critical-image fingerprints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..config import resolves_device
from .model import Model, ModelZoo, entry_of, zoo_roots
from .results import Result

METHODS = ("auto", "lineage", "critical")


@dataclass(frozen=True)
class Verification(Result):
    """The ownership verdict for one (source, suspect) pair.

    Attributes
    ----------
    verdict : str
        ``copy``, ``shared parent``, ``independent`` or ``undecided`` (lineage); ``COPY`` or
        ``independent`` (critical images).
    method : str
        ``lineage`` or ``critical``.
    source, suspect : str
        The two models' ids.
    explanation : str
        One sentence on why.
    evidence : dict
        Everything the method measured (similarity and p-value, or d, eta and p-value).
    """

    verdict: str
    method: str
    source: str
    suspect: str
    explanation: str
    evidence: dict[str, Any]


def _lineage(src: Any, sus: Any, references: list[Path] | None, alpha: float, device: str) -> Verification:
    from ..verification.fingerprint import load_entry_model
    from ..verification.ownership import verify_models
    from ..verification.references import reference_entries

    load = partial(load_entry_model, device=device)
    v = verify_models(src, sus, load=load, references=reference_entries(references, [src, sus]), alpha=alpha)
    return Verification(v.verdict, "lineage", src.id, sus.id, v.explanation, v.to_dict())


def _critical(sides: list[Any], settings: Any, device: str) -> Verification:
    from ..verification.fingerprint import Fingerprint, FingerprintSettings, fingerprint_model
    from ..verification.verify import verify_fingerprints

    fixed = next((s.settings for s in sides if isinstance(s, Fingerprint)), None)
    task = next((s.task for s in sides if not isinstance(s, Fingerprint)), "sr")
    settings = fixed or settings or FingerprintSettings(task=task)
    fps = [s if isinstance(s, Fingerprint) else fingerprint_model(s, settings, device) for s in sides]
    v = verify_fingerprints(fps[0], fps[1])
    why = f"d/eta = {v.ratio:.3g} ({'below' if v.is_copy else 'above'} 1), p = {v.p_value:.3g}"
    return Verification(v.label, "critical", str(fps[0].model.get("id")), str(fps[1].model.get("id")), why,
                        v.to_dict())


@resolves_device
def verify(source: Model | str | Path, suspect: Model | str | Path, *, zoo: str | Path | ModelZoo | None = None,
           method: str = "auto", references: Sequence[str | Path | ModelZoo] | None = None, alpha: float = 1e-3,
           settings: Any = None, device: str = "auto") -> Verification:
    """Decide whether ``suspect`` is a copy of (or shares a parent with) ``source``.

    ``lineage`` (the default for two models; ``srprint verify``'s test) asks whether the suspect computes
    the source's function, then compares the aligned, canonicalised weights against a null of
    independent reference models, in seconds. ``critical`` (the default when a side is a fingerprint file)
    compares the two models' critical-image fingerprints (minutes per model on a CPU).

    Parameters
    ----------
    source, suspect : Model, str or Path
        Models (descriptors, entry folders, or ids with ``zoo``) or fingerprint JSON files.
    zoo : str, Path or ModelZoo, optional
        The zoo ids are looked up in.
    method : {"auto", "lineage", "critical"}
        The test.
    references : sequence of zoo folders, optional
        The lineage null's reference models (default: every zoo under ``$SRPRINT_HOME/zoos`` and the
        two models' own zoos).
    alpha : float
        The significance level.
    settings : FingerprintSettings, optional
        The critical-image settings (default: the library's, with the model's task).
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Returns
    -------
    Verification
        The verdict and its evidence.

    Raises
    ------
    SrprintError
        For an unknown method, a model that is not found, or fingerprint files with ``method="lineage"``.
    FingerprintError
        If a fingerprint file is unreadable.
    LineageError
        If a model's forward pass fails on the probe.

    Examples
    --------
    >>> v = srprint.verify("EDSR-skimage-x2-L1-s1", "EDSR-skimage-x2-L1-s2", zoo=demo_zoo)  # doctest: +SKIP
    >>> v.verdict  # doctest: +SKIP
    'independent'
    """
    from ..errors import SrprintError
    from ..verification.fingerprint import is_fingerprint_file, load_fingerprint

    if method not in METHODS:
        raise SrprintError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    sides = [load_fingerprint(s) if isinstance(s, str | Path) and is_fingerprint_file(s) else entry_of(s, zoo)
             for s in (source, suspect)]
    files = any(isinstance(s, str | Path) and is_fingerprint_file(s) for s in (source, suspect))
    if method == "auto":
        method = "critical" if files else "lineage"
    if method == "lineage":
        if files:
            raise SrprintError("method lineage compares weights: give both sides as models, not fingerprint files")
        refs = zoo_roots(references) if references is not None else None
        return _lineage(sides[0], sides[1], refs, alpha, device)
    return _critical(sides, settings, device)
