"""Where the nulls' independent models come from, and the settings a command line asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SrprintError
from .fingerprint import METHODS, FingerprintSettings


def reference_entries(folders: list[Path] | None, sides: list[Any]) -> list[Any]:
    """Candidate reference models for the nulls: every entry of ``folders``, or by default of every zoo
    under ``$SRPRINT_HOME/zoos`` and of the zoos holding ``sides`` (each entry once, by resolved folder).
    :func:`~srprint.verification.ownership.select_references` then keeps those independent of both sides.

    Parameters
    ----------
    folders : list of Path or None
        Zoo folders named with ``--reference``; None for the default search.
    sides : list of ZooEntry
        The models being compared (their own zoos are searched by default).

    Returns
    -------
    list of ZooEntry
        Every entry found, in folder order.

    Raises
    ------
    SrprintError
        If a named folder is not a folder.
    """
    from ..config import srprint_home
    from ..zoo.entry import Zoo

    if folders:
        roots = list(folders)
        for r in roots:
            if not Path(r).is_dir():
                raise SrprintError(f"--reference {r}: not a zoo folder")
    else:
        home = srprint_home() / "zoos"
        roots = sorted(p for p in home.iterdir() if p.is_dir()) if home.is_dir() else []
        roots += [Path(s.path).parent for s in sides if getattr(s, "path", None) is not None]
    seen, out = set(), []
    for root in roots:
        try:
            entries = Zoo(root).entries()
        except SrprintError:
            continue
        for e in entries:
            key = str(Path(e.path).resolve())
            if key not in seen:
                seen.add(key)
                out.append(e)
    return out


def check_trained_references(k: int, method: str) -> None:
    """Refuse ``--train-references`` where no lineage null is drawn (fingerprint files, critical-image methods).

    Raises
    ------
    SrprintError
        If ``k`` is set and ``method`` is not ``lineage``.
    """
    if k and method != "lineage":
        raise SrprintError(f"--train-references fills the lineage null: it needs two models (--method lineage), "
                           f"not --method {method}")


def fingerprint_settings(task: str | None, *, size: int, iters: int, lam: float, lr: float, k: int, seed: int,
                         method: str, default_task: str = "sr") -> FingerprintSettings:
    """The critical-image settings of a command line (``task`` defaults to the model's own).

    Raises
    ------
    SrprintError
        If ``method`` is not a fingerprint method.
    """
    if method not in METHODS:
        raise SrprintError(f"unknown --method {method!r}; known: {', '.join(METHODS)}")
    return FingerprintSettings(task=task or default_task, size=size, iters=iters, lam=lam, lr=lr, k=k, seed=seed,
                               method=method)


def entry_arg(model: str, zoo: Path | None) -> Any:
    """The zoo entry a command's MODEL argument names (an entry folder, or an id inside ``--zoo``).

    Parameters
    ----------
    model : str
        An entry folder, or a model id with ``zoo``.
    zoo : Path, optional
        The zoo folder to look ``model`` up in.

    Returns
    -------
    ZooEntry
        The loaded entry.

    Raises
    ------
    SrprintError
        If ``model`` is neither an entry folder nor an id with ``--zoo``, or the entry cannot be read.
    """
    from ..cli_common import resolve_model_arg
    from ..zoo.entry import ZooEntry

    return ZooEntry.load(resolve_model_arg(model, zoo))
