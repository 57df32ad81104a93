"""The one plain-language line of an ownership verdict (:func:`~.ownership.verify_models`), a person can repeat."""

from __future__ import annotations

from typing import Any

WEIGHTS_AND_FUNCTION = "weights and function together (the distribution-free bound alone was inconclusive)"
FEW_TRAINED = "too few trained models in the null to call a shared parent"


def explain(verdict: str, src: str, sus: str, *, lineage: dict[str, Any] | None,
            functional: dict[str, Any] | None) -> str:
    """One plain-language line a person can repeat."""
    func = functional or {}
    agree = func.get("agreement_db")
    if verdict == "copy" and func.get("decision") == "same":
        null = (f"; independent models of this task agree with {src} at {func['null_mean_db']:.0f} dB on average "
                f"(max {func['null_max_db']:.0f}, p = {max(func['p_value'], func['p_bound']):.1g})"
                if "p_value" in func else f" (floor {func.get('floor_db')} dB; no reference models)")
        return (f"{sus} computes {src}'s function: their outputs agree at {agree:.0f} dB{null}. Same function, "
                f"whatever its weights look like.")
    if lineage and lineage.get("decided_by", "").startswith("function") and verdict == "independent":
        return (f"{sus}'s layers pair with {src}'s only by what they compute (another architecture), its outputs "
                f"are no closer to {src}'s ({func.get('agreement_db') or 0:.0f} dB) than independent models' are, and "
                f"the weight similarity ({lineage['similarity']:.3f}) is inconclusive: no evidence of copying.")
    if lineage and "p_value" in lineage and verdict in ("copy", "shared parent", "independent", "undecided"):
        s, cov = lineage["similarity"], lineage["coverage"]
        p = max(lineage["p_value"], lineage["p_bound"])
        n = lineage["null_n"]
        if lineage.get("decided_by") == WEIGHTS_AND_FUNCTION and verdict in ("copy", "shared parent"):
            what = (f"carries {src}'s weights up to small changes" if verdict == "copy"
                    else f"shares trained weights with {src}")
            return (f"{sus} {what}: its aligned weights are closer to {src}'s than every independent "
                    f"model's (similarity {s:.4f} over {cov:.0%} of the parameters, t-predictive p = "
                    f"{lineage['p_value']:.2g}) and so are its outputs (p = {func.get('p_value', 1.0):.2g}); the "
                    f"distribution-free bound alone ({lineage['p_bound']:.2g}) would not clear the level.")
        if verdict == "copy":
            return (f"{sus} carries {src}'s weights up to small changes (similarity {s:.4f} over {cov:.0%} of the "
                    f"parameters); an independent model this close has probability {p:.1g} "
                    f"(null of {n} independent models).")
        if verdict == "shared parent":
            return (f"{sus} and {src} share trained weights (similarity {s:.3f} over {cov:.0%} of the parameters, "
                    f"p = {p:.1g}) but differ more than a modified copy: both derive from a common parent.")
        if verdict == "undecided" and lineage.get("decided_by") == FEW_TRAINED:
            return (f"inconclusive: {sus}'s aligned weights are closer to {src}'s than the null's (similarity "
                    f"{s:.3f}, p = {p:.2g}), but that null holds fewer than 3 independently trained models of "
                    f"{sus}'s kind, and random re-initialisations alone cannot tell a shared parent from an "
                    f"independent model.")
        if verdict == "undecided":
            return (f"inconclusive: {sus}'s aligned weights are closer to {src}'s than independent models' "
                    f"(similarity {s:.3f}, t-predictive p = {lineage['p_value']:.2g}), but the distribution-free "
                    f"bound ({lineage['p_bound']:.2g}) does not clear the level with a null of {n} models.")
        return (f"{sus}'s aligned weights are as unrelated to {src}'s as independent models' are "
                f"(similarity {s:.3f}, p = {lineage['p_value']:.2g} against {n} independent models).")
    cov = lineage["coverage"] if lineage else 0.0
    if func.get("reason"):
        return (f"the architectures do not line up ({cov:.0%} of the parameters pair) and the two functions cannot "
                f"be the same ({func['reason']}): no evidence of copying.")
    if verdict == "independent":
        return (f"the architectures do not line up ({cov:.0%} of the parameters pair), and {sus}'s outputs are no "
                f"closer to {src}'s ({agree:.0f} dB) than independent models' (mean {func['null_mean_db']:.0f} dB, "
                f"p = {func['p_value']:.2g}).")
    inv = func.get("inversion") or {}
    if verdict == "copy" and inv.get("reproduces"):
        return (f"the architectures do not line up ({cov:.0%} of the parameters pair), but {sus} reproduces "
                f"{src}'s outputs down to their 8-bit quantisation (p = {inv['p_value']:.1g}): "
                f"the same function in another graph.")
    why = "no reference models of this task to compare with"
    if func.get("decision") == "closer":
        why = "closer to the source than independent models are, yet not the same function (distilled? imitating?)"
    return (f"the architectures do not line up ({cov:.0%} of the parameters pair) and the outputs agree at "
            f"{agree if agree is None else round(agree)} dB: {why}; undecided.")


def own_architecture_note(verdict: str, null_archs: list[str], suspect_arch: str) -> str | None:
    """The caveat of a *shared parent* whose lineage null holds no independently trained model of the suspect's
    own architecture (``null_archs``: the architectures of the null's trained models), else None.

    Why: independently trained networks of one small architecture, trained on one task, converge part of the
    way to one another, closer than other architectures or random re-initialisations sit. With the default
    references, 11 of 28 pairs of FSRCNN x4 networks trained from different random starts were called *shared
    parent*; with 4 more such networks passed as references, none was (``bench/results/verification_retrained*.md``;
    :mod:`~srprint.verification.trained_references` trains them).
    """
    if verdict != "shared parent" or suspect_arch in null_archs:
        return None
    return (f"the lineage null holds no independently trained {suspect_arch}: networks of one small architecture "
            "trained apart on one task can look related against other architectures; pass a few as --reference, or "
            "--train-references 4, before acting on this verdict")
