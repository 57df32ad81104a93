"""The function-preserving edits' parameters and descriptions (no torch: the CLI builds its options from
them at start-up; :mod:`srprint.verification.attacks` registers the attacks with the same defaults)."""

from __future__ import annotations

from typing import Any

EDIT_ATTACKS: dict[str, tuple[dict[str, Any], str]] = {
    "mix": ({"seed": 0, "cond": 1.0, "junctions": 1},
            "mix a linear junction (residual stream) by a random invertible matrix of condition number cond "
            "(outputs unchanged)"),
    "signflip": ({"seed": 0}, "flip signs through linear junctions, PReLU and odd activations (outputs unchanged)"),
    "insert-identity": ({"depth": 0.0, "kind": "conv", "seed": 0},
                        "insert a 1x1 identity conv (kind=conv) or a zero-output residual block (kind=block) "
                        "after the conv at relative depth 0..1 (outputs unchanged)"),
    "widen": ({"extra": 4, "seed": 0}, "add extra hidden channels that nothing reads (outputs unchanged)"),
    "padkernel": ({"by": 1}, "pad every conv kernel with zero taps, padding grown to match (outputs unchanged)"),
    "prune-channels": ({"percent": 10.0, "recover": 200, "lr": 1e-4, "seed": 0},
                       "remove the lowest-norm hidden channels of every chain, then fine-tune recover steps"),
}


def edit_default(name: str, key: str) -> Any:
    """The default of parameter ``key`` of edit ``name``."""
    return EDIT_ATTACKS[name][0][key]
