"""CLI: ``srprint attack``: modify a model to test that verification survives it; saves a zoo entry folder.

The function-preserving edits of :mod:`srprint.verification.edits` (``mix``, ``signflip``, ...) read their
defaults from the attack registry (``ATTACKS``), so the two never disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..cli_common import DeviceOpt, JsonOpt, config_options, positive_float, printed_as_json, resolve_model_arg, stdout
from .edit_defaults import edit_default

AttackReplaceOpt = typer.Option(False, "--replace", help="Overwrite OUT even if it holds another model")
ZooOpt = typer.Option(None, "--zoo", help="Zoo folder to look model ids up in")
AttackModelArg = typer.Argument(..., help="Model to attack: zoo entry folder, or model id with --zoo")
AttackOutOpt = typer.Option(..., "-o", "--out", help="Output zoo entry folder for the attacked model")
AttackSeedOpt = typer.Option(0, "--seed", min=0, help="Seed of the attack's randomness")

attack_app = typer.Typer(no_args_is_help=True, help="Modify a model (prune / finetune / quantize) to test "
                                                    "robustness; saves a zoo entry folder.")

# the options every attack command ends with, received as one ``target`` dict of run_attack's keywords
attack_target_options = config_options(
    "target",
    {"model": (str, AttackModelArg), "out": (Path, AttackOutOpt), "replace": (bool, AttackReplaceOpt),
     "zoo": (Path | None, ZooOpt), "device": (str, DeviceOpt), "as_json": (bool, JsonOpt)},
    dict,
)


def run_attack(name: str, params: dict[str, Any], *, model: str, out: Path, zoo: Path | None, device: str,
                as_json: bool, replace: bool = False) -> None:
    from ..zoo.entry import ZooEntry
    from .attacks import attack_model
    from .finetuning import collapsed_by_plain_step

    e = attack_model(ZooEntry.load(resolve_model_arg(model, zoo)), name, out, params=params, device=device,
                     overwrite=replace)
    if printed_as_json({"id": e.id, "path": str(e.path), "labels": e.labels, "metrics": e.metrics}, as_json):
        return
    m = e.metrics
    stdout.print(f"wrote {e.path} ({e.id}); held-out PSNR {m['heldout_psnr_before']:.2f} -> "
                 f"{m['heldout_psnr_after']:.2f} dB ({m['psnr_change']:+.2f})", highlight=False)
    if collapsed_by_plain_step(e):
        stdout.print(f"the fine-tune collapsed the model ({m['psnr_change']:+.1f} dB): Adam's uniform step "
                     "overwrites tensors far smaller than the rest; --scaled steps each in proportion to its scale",
                     highlight=False)

@attack_app.command("prune")
@attack_target_options
def attack_prune(percent: float = typer.Option(5.0, "--percent", min=0.0, max=100.0,
                                               help="% of each layer's weights zeroed"),
                 target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Magnitude pruning: zero exactly PERCENT % of the smallest weights of every layer."""
    run_attack("prune", {"percent": percent}, **target)

@attack_app.command("finetune")
@attack_target_options
def attack_finetune(iters: int = typer.Option(500, "--iters", min=1, max=1_000_000,
                                              help="Fine-tuning iterations (paper: 500)"),
                    lr: float = typer.Option(1e-5, "--lr", callback=positive_float(maximum=1.0),
                                             help="Adam learning rate (small: the paper keeps "
                                             "the PSNR change <= 1 dB)"),
                    batch: int = typer.Option(4, "--batch-size", min=1, max=1024, help="Patches per step"),
                    patch: int = typer.Option(32, "--patch", min=8, max=1024,
                                              help="HR crop side (at least 8 LR pixels)"),
                    data: str = typer.Option("bsd68", "--data", help="bsd68 (BSDS500 val photos, the BSD68 "
                                             "pool; scikit-image photos if absent) or skimage"),
                    seed: int = AttackSeedOpt,
                    scaled: bool = typer.Option(False, "--scaled", help="Each tensor's learning rate in "
                                                "proportion to its scale (for networks a uniform Adam step "
                                                "collapses, e.g. FMEN's merged form)"),
                    target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Fine-tune (L1, fresh Adam) on the model's own task on photos never used to measure the PSNR change."""
    run_attack("finetune", {"iters": iters, "lr": lr, "batch": batch, "patch": patch, "data": data, "seed": seed,
                            "scaled": scaled}, **target)

@attack_app.command("quantize")
@attack_target_options
def attack_quantize(bits: int = typer.Option(8, "--bits", min=2, max=16, help="Bits per weight (2-16)"),
                    target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Per-tensor symmetric quantisation by simple rounding (int8: <= 255 values per tensor)."""
    run_attack("quantize", {"bits": bits}, **target)

@attack_app.command("permute")
@attack_target_options
def attack_permute(seed: int = AttackSeedOpt,
                   target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Permute the hidden channels of every conv -> activation -> conv chain (outputs unchanged)."""
    run_attack("permute", {"seed": seed}, **target)

@attack_app.command("rescale")
@attack_target_options
def attack_rescale(spread: float = typer.Option(1.0, "--spread", min=0.0, max=5.0,
                                                help="Factors are exp(U(-spread, spread))"),
                   seed: int = AttackSeedOpt,
                   target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Rescale hidden channels across each ReLU and undo it in the next conv (outputs unchanged)."""
    run_attack("rescale", {"seed": seed, "spread": spread}, **target)

@attack_app.command("foldbn")
@attack_target_options
def attack_foldbn(target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Fold every BatchNorm into the conv before it (outputs unchanged)."""
    run_attack("foldbn", {}, **target)

@attack_app.command("fp16")
@attack_target_options
def attack_fp16(target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Cast every floating-point tensor to float16."""
    run_attack("fp16", {}, **target)

@attack_app.command("noise")
@attack_target_options
def attack_noise(sigma: float = typer.Option(0.01, "--sigma", min=0.0, max=1.0,
                                             help="Noise std as a fraction of each tensor's std"),
                 seed: int = AttackSeedOpt,
                 target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Add Gaussian noise to every weight and bias."""
    run_attack("noise", {"sigma": sigma, "seed": seed}, **target)


@attack_app.command("mix")
@attack_target_options
def attack_mix(cond: float = typer.Option(edit_default("mix", "cond"), "--cond", min=1.0, max=1e6,
                                          help="Condition number of the mixing matrix (1: orthogonal)"),
               junctions: int = typer.Option(edit_default("mix", "junctions"), "--junctions", min=1, max=64,
                                             help="How many linear junctions to mix (widest first)"),
               seed: int = AttackSeedOpt,
               target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Mix a linear junction (a residual stream) by a random invertible matrix (outputs unchanged)."""
    run_attack("mix", {"cond": cond, "junctions": junctions, "seed": seed}, **target)


@attack_app.command("signflip")
@attack_target_options
def attack_signflip(seed: int = AttackSeedOpt,
                    target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Flip signs through linear junctions, PReLU and odd activations (outputs unchanged)."""
    run_attack("signflip", {"seed": seed}, **target)


@attack_app.command("insert-identity")
@attack_target_options
def attack_insert_identity(depth: float = typer.Option(edit_default("insert-identity", "depth"), "--depth",
                                                       min=0.0, max=1.0,
                                                       help="Relative depth of the conv it follows (0-1)"),
                           kind: str = typer.Option(edit_default("insert-identity", "kind"), "--kind",
                                                    help="conv (a 1x1 identity conv) or block (a residual block "
                                                    "whose last conv is zero)"),
                           seed: int = AttackSeedOpt,
                           target: dict[str, Any] = None) -> None:  # type: ignore[assignment]
    """Insert an identity layer after one convolution (outputs unchanged)."""
    run_attack("insert-identity", {"depth": depth, "kind": kind, "seed": seed}, **target)


@attack_app.command("widen")
@attack_target_options
def attack_widen(extra: int = typer.Option(edit_default("widen", "extra"), "--extra", min=1, max=1024,
                                           help="Hidden channels added (that nothing reads)"),
                 seed: int = AttackSeedOpt,
                 target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Widen hidden layers with dead channels (outputs unchanged)."""
    run_attack("widen", {"extra": extra, "seed": seed}, **target)


@attack_app.command("padkernel")
@attack_target_options
def attack_padkernel(by: int = typer.Option(edit_default("padkernel", "by"), "--by", min=1, max=3,
                                            help="Zero taps added on every side of every kernel"),
                     target: dict[str, Any] = None) -> None:  # type: ignore[assignment]  (@attack_target_options)
    """Pad every convolution kernel with zeros, its padding grown to match (outputs unchanged)."""
    run_attack("padkernel", {"by": by}, **target)


@attack_app.command("prune-channels")
@attack_target_options
def attack_prune_channels(percent: float = typer.Option(edit_default("prune-channels", "percent"),
                                                        "--percent", min=0.1, max=89.0,
                                                        help="% of each chain's hidden channels removed"),
                          recover: int = typer.Option(edit_default("prune-channels", "recover"), "--recover",
                                                      min=0, max=1_000_000,
                                                      help="Recovery fine-tuning steps after pruning"),
                          lr: float = typer.Option(edit_default("prune-channels", "lr"), "--lr",
                                                   callback=positive_float(maximum=1.0),
                                                   help="Learning rate of the recovery fine-tuning"),
                          seed: int = AttackSeedOpt,
                          target: dict[str, Any] = None) -> None:  # type: ignore[assignment]
    """Remove the lowest-norm hidden channels, then fine-tune to recover (changes the outputs)."""
    run_attack("prune-channels", {"percent": percent, "recover": recover, "lr": lr, "seed": seed}, **target)
