"""CLI: the function-preserving edits of :mod:`srprint.verification.edits` as ``srprint attack`` commands.

Each command's defaults are the attack registry's (``ATTACKS``), so the two never disagree. The commands
are added to the ``attack`` group by :func:`register_edit_commands`, which ``verification/cli.py`` calls
with its group, its runner and its target options (this module imports nothing from it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from ..cli_common import positive_float
from .attacks import get_attack


def _default(name: str, key: str) -> Any:
    return get_attack(name).defaults[key]


SeedOpt = typer.Option(0, "--seed", min=0, help="Seed of the edit's randomness")


def register_edit_commands(attack_app: typer.Typer, run: Callable[..., None],
                           target_options: Callable[[Callable[..., None]], Callable[..., None]]) -> None:
    """Add ``mix``, ``signflip``, ``insert-identity``, ``widen``, ``padkernel`` and ``prune-channels`` to
    ``attack_app``; ``run(name, params, **target)`` applies one and prints its result."""

    @attack_app.command("mix")
    @target_options
    def attack_mix(cond: float = typer.Option(_default("mix", "cond"), "--cond", min=1.0, max=1e6,
                                              help="Condition number of the mixing matrix (1: orthogonal)"),
                   junctions: int = typer.Option(_default("mix", "junctions"), "--junctions", min=1, max=64,
                                                 help="How many linear junctions to mix (widest first)"),
                   seed: int = SeedOpt,
                   target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (target options)
        """Mix a linear junction (a residual stream) by a random invertible matrix (outputs unchanged)."""
        run("mix", {"cond": cond, "junctions": junctions, "seed": seed}, **target)

    @attack_app.command("signflip")
    @target_options
    def attack_signflip(seed: int = SeedOpt,
                        target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (target options)
        """Flip signs through linear junctions, PReLU and odd activations (outputs unchanged)."""
        run("signflip", {"seed": seed}, **target)

    @attack_app.command("insert-identity")
    @target_options
    def attack_insert_identity(depth: float = typer.Option(_default("insert-identity", "depth"), "--depth",
                                                           min=0.0, max=1.0,
                                                           help="Relative depth of the conv it follows (0-1)"),
                               kind: str = typer.Option(_default("insert-identity", "kind"), "--kind",
                                                        help="conv (a 1x1 identity conv) or block (a residual "
                                                        "block whose last conv is zero)"),
                               seed: int = SeedOpt,
                               target: dict[str, Any] = None) -> None:  # type: ignore[assignment]
        """Insert an identity layer after one convolution (outputs unchanged)."""
        run("insert-identity", {"depth": depth, "kind": kind, "seed": seed}, **target)

    @attack_app.command("widen")
    @target_options
    def attack_widen(extra: int = typer.Option(_default("widen", "extra"), "--extra", min=1, max=1024,
                                               help="Hidden channels added (that nothing reads)"),
                     seed: int = SeedOpt,
                     target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (target options)
        """Widen hidden layers with dead channels (outputs unchanged)."""
        run("widen", {"extra": extra, "seed": seed}, **target)

    @attack_app.command("padkernel")
    @target_options
    def attack_padkernel(by: int = typer.Option(_default("padkernel", "by"), "--by", min=1, max=3,
                                                help="Zero taps added on every side of every kernel"),
                         target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (target options)
        """Pad every convolution kernel with zeros, its padding grown to match (outputs unchanged)."""
        run("padkernel", {"by": by}, **target)

    @attack_app.command("prune-channels")
    @target_options
    def attack_prune_channels(percent: float = typer.Option(_default("prune-channels", "percent"), "--percent",
                                                            min=0.1, max=89.0,
                                                            help="% of each chain's hidden channels removed"),
                              recover: int = typer.Option(_default("prune-channels", "recover"), "--recover",
                                                          min=0, max=1_000_000,
                                                          help="Recovery fine-tuning steps after pruning"),
                              lr: float = typer.Option(_default("prune-channels", "lr"), "--lr",
                                                       callback=positive_float(maximum=1.0),
                                                       help="Learning rate of the recovery fine-tuning"),
                              seed: int = SeedOpt,
                              target: dict[str, Any] = None) -> None:  # type: ignore[assignment]
        """Remove the lowest-norm hidden channels, then fine-tune to recover (changes the outputs)."""
        run("prune-channels", {"percent": percent, "recover": recover, "lr": lr, "seed": seed}, **target)
