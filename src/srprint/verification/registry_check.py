"""``srprint registry check``'s library: one suspect against every registered owner."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import SrprintError
from ..registries import Registry as Table

#: How ``srprint registry check --index`` asks a lineage index about a suspect,
#: ``lookup(model, index, *, registry) -> dict``: filled by :mod:`srprint.lineage.owners` (lineage sits a
#: layer above verification, so this package never imports it).
INDEX_LOOKUPS: Table[Callable[..., dict[str, Any]]] = Table("lineage index lookup", unique=False)


def open_registry(path: str | Path | None) -> Any:
    """The fingerprint registry to check against: ``path``, or the default one under ``$SRPRINT_HOME``.

    Parameters
    ----------
    path : str or Path, optional
        An existing registry file; None for the default registry.

    Returns
    -------
    Registry
        The registry (:class:`.fingerprint_store.Registry`).

    Raises
    ------
    SrprintError
        If ``path`` is given and is not a file (a check never creates a registry there).
    """
    from .fingerprint_store import Registry

    if path is not None and not Path(path).is_file():
        raise SrprintError(f"registry not found: {path}")
    return Registry(path)


def check_suspect_model(registry: Any, suspect: Any, *, fingerprint: Callable[[Any], Any],
                        device: str = "cpu") -> list[tuple[str, Any]]:
    """Verdicts of a suspect zoo entry against every registered owner (:func:`.ownership.check_registered`).

    Parameters
    ----------
    registry : Registry
        The registered owners.
    suspect : ZooEntry
        The suspect model.
    fingerprint : callable
        ``FingerprintSettings -> Fingerprint`` of the suspect, called at most once per setting, for the
        owners whose model is not on disk. A suspect whose task does not fit a setting is not compared
        with those owners.
    device : str
        The resolved torch device the models run on.

    Returns
    -------
    list of (str, OwnershipVerdict)
        One verdict per comparable owner, copies first.

    Raises
    ------
    SrprintError
        If the suspect's fingerprint fails for any reason but a task that does not fit.
    """
    from .fingerprint import load_entry_model
    from .ownership import check_registered
    from .references import reference_entries

    def comparable(settings: Any) -> Any:
        try:
            return fingerprint(settings)
        except SrprintError as exc:  # e.g. a denoiser suspect vs an SR fingerprint: not comparable
            if "does not fit task" not in str(exc):
                raise
            return None

    return check_registered(registry.fingerprints(), suspect, load=partial(load_entry_model, device=device),
                            references=reference_entries(None, [suspect]), fingerprint=comparable)


def index_answer(registry: Any, suspect: Any, index: Path, *,
                 lookup: Callable[..., dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the lineage index at ``index`` says about a suspect zoo entry, and the registered owners its
    answer names (by default :func:`srprint.lineage.owners.lookup`, from :data:`INDEX_LOOKUPS`).

    Parameters
    ----------
    registry : Registry
        The registered owners.
    suspect : ZooEntry
        The suspect model (on disk).
    index : Path
        The lineage index folder.
    lookup : callable, optional
        ``lookup(model, index, *, registry) -> dict``; None for the one :mod:`srprint.lineage.owners` registers.

    Returns
    -------
    dict
        The lookup's result (``text``, ``answer``, ``match``, ``fwer``, ``relations``) with ``owners``.

    Raises
    ------
    SrprintError
        If ``index`` is not a lineage index (before any work), the suspect is not on disk, or no lookup is
        registered (:mod:`srprint.lineage.owners` not imported).
    """
    if lookup is None:
        lookup = INDEX_LOOKUPS.lookup("lineage")
    if getattr(suspect, "path", None) is None:
        raise SrprintError(f"--index: {suspect.id} is not a model on disk")
    return lookup(Path(suspect.path), Path(index), registry=registry)
