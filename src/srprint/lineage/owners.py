"""Which registered owners a lineage answer names: from ``srprint lineage query`` to the fingerprint registry.

``srprint registry check`` compares a suspect with every registered owner in turn (seconds each). With a
lineage index, one query (:func:`srprint.lineage.query.query_file`: milliseconds to look up, then a few
confirmations) already says which indexed model the suspect is, or derives from, with a family-wise error
rate over the whole index. :func:`registered_owners` maps that answer onto the registry: an owner is
named when its registered model (the fingerprint's model id, the zoo entry id the index also keys on) is
the answer's match or one of the suspect's accepted relatives. ``srprint lineage query --registry REG``
prints them; a registry check can take them as its answer, or check those owners first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..verification.registry_check import INDEX_LOOKUPS, open_registry
from .relate import Relation, accepted

ALPHA = 0.05


def registered_owners(result: dict[str, Any], registered: list[tuple[str, Any]], *,
                      alpha: float = ALPHA) -> list[dict[str, Any]]:
    """The registered owners a lookup's answer names, the answer's match first, then by error rate.

    Parameters
    ----------
    result : dict
        A :func:`srprint.lineage.query.query_file` result (``match``, ``answer``, ``fwer``, ``relations``).
    registered : list of (str, Fingerprint)
        The registry's ``(name, fingerprint)`` pairs (``Registry.fingerprints()``); a fingerprint's
        ``model`` dict holds its model id.
    alpha : float, optional
        The family-wise error rate a relation must stay below to name its owner.

    Returns
    -------
    list of dict
        ``{"name", "model", "relation", "fwer", "answer"}`` per named owner (``answer``: the owner's model
        is the lookup's match); empty when the answer is *unknown* or names no registered model.
    """
    rels: dict[str, dict[str, Any]] = {}
    for r in result.get("relations") or []:
        rel = Relation.from_dict(r)
        if accepted(rel, alpha):
            rels.setdefault(r["candidate"], r)
    match = result.get("match")
    out = []
    for name, fp in registered:
        mid = (getattr(fp, "model", None) or {}).get("id")
        if mid is None:
            continue
        if mid == match:
            out.append({"name": name, "model": mid, "relation": result.get("answer"), "fwer": result.get("fwer"),
                        "answer": True})
        elif mid in rels:
            out.append({"name": name, "model": mid, "relation": rels[mid]["relation"], "fwer": rels[mid].get("fwer"),
                        "answer": False})
    # the match first; then by error rate (None: decided without a p-value, e.g. identical weights)
    return sorted(out, key=lambda o: (not o["answer"], o["fwer"] or 0.0, o["name"]))


def lookup(model: Path, index: Path, *, registry: Path | Any | None = None, alpha: float = ALPHA,
           **options: Any) -> dict[str, Any]:
    """:func:`srprint.lineage.query.query_file`, and with ``registry`` the registered owners its answer
    names (``owners``, :func:`registered_owners`).

    Parameters
    ----------
    model : Path
        The suspect: a zoo entry folder or a checkpoint file.
    index : Path
        The lineage index folder.
    registry : Path or Registry, optional
        A registry file, or an open :class:`srprint.verification.fingerprint_store.Registry`
        (``srprint registry check --index``); None: no owners are named.
    alpha : float, optional
        The family-wise error rate a relation must stay below.
    **options
        Passed on to :func:`srprint.lineage.query.query_file`.

    Returns
    -------
    dict
        The query's result, with ``owners`` when a registry is given.

    Raises
    ------
    SrprintError
        ``registry`` is not a registry file (before any work), or the query's own errors.
    """
    from .query import query_file

    reg = open_registry(registry) if isinstance(registry, (str, Path)) else registry
    res = query_file(model, index, alpha=alpha, **options)
    if reg is not None:
        res["owners"] = registered_owners(res, reg.fingerprints(), alpha=alpha)
    return res


INDEX_LOOKUPS.add("lineage", lookup)  # srprint registry check --index (verification cannot import lineage)
