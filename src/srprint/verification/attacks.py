"""Model-modification attacks a thief might apply, to test that verification survives them.

Registry (``@register_attack``): ``prune`` (magnitude pruning of exactly ``p`` % of the weights of
every layer), ``finetune`` (``iters`` Adam steps on the model's own task, on photos), ``quantize``
(int8, symmetric per-tensor simple rounding). Every attack reports the PSNR change it causes on
held-out photos and saves the result as a zoo entry folder (``model.json`` + ``model.safetensors``)
that :func:`srprint.zoo.model.load_model` loads like any other.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import SpecError, SrprintError
from ..io.checkpoints import load_weights, save_weights
from ..registries import Registry
from ..zoo.entry import ZooEntry, library_versions
from .edit_defaults import EDIT_ATTACKS
from .finetuning import finetune_model, heldout_photos, task_psnr

AttackFn = Callable[[ZooEntry, dict[str, torch.Tensor], dict[str, Any], str],
                    dict[str, torch.Tensor] | tuple[dict[str, torch.Tensor], dict[str, Any]]]


@dataclass(frozen=True)
class Attack:
    name: str
    fn: AttackFn
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # parameters added after models were attacked: recorded only when set to another value than this, so
    # a model attacked before the parameter existed is still recognised as made by the same attack
    optional: dict[str, Any] = field(default_factory=dict)


ATTACKS: Registry[Attack] = Registry("attack", error=SpecError, unique=False)


def register_attack(
    name: str, defaults: dict[str, Any] | None = None, description: str = "",
    *, optional: dict[str, Any] | None = None,
) -> Callable[[AttackFn], AttackFn]:
    """Decorator adding ``fn(model, **params)`` to the attacks under ``name`` (``optional``: see
    :class:`Attack`)."""
    return ATTACKS.decorator(name, lambda fn: Attack(name, fn, dict(defaults or {}), description,
                                                     dict(optional or {})))


list_attacks = ATTACKS.names  # sorted names
get_attack = ATTACKS.lookup  # the entry, or a clear error naming the known ones


def is_layer_weight(name: str, t: torch.Tensor) -> bool:
    """Conv / linear kernels (float tensors with >= 2 dims); biases and norms are not pruned."""
    return t.is_floating_point() and t.ndim >= 2


def prune_tensor(t: torch.Tensor, percent: float) -> torch.Tensor:
    """Zero exactly ``round(percent/100 * numel)`` smallest-magnitude entries (ties broken by index)."""
    n = int(round(percent / 100.0 * t.numel()))
    out = t.clone()
    if n <= 0:
        return out
    flat = out.view(-1)
    order = torch.argsort(flat.abs(), stable=True)
    flat[order[:n]] = 0
    return out


def quantize_tensor(t: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """Symmetric per-tensor quantisation by rounding: at most ``2**bits - 1`` distinct values."""
    qmax = 2 ** (bits - 1) - 1
    amax = t.abs().max()
    if amax == 0:
        return t.clone()
    step = amax / qmax
    return (torch.round(t / step).clamp(-qmax, qmax) * step).to(t.dtype)


@register_attack("prune", {"percent": 5.0}, "zero the smallest |w| (percent %) of every layer's weights")
def _prune(
    entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any], device: str
) -> dict[str, torch.Tensor]:
    if not 0 <= params["percent"] < 100:
        raise SrprintError(f"prune percent must be in [0, 100), got {params['percent']}")
    return {k: prune_tensor(v, params["percent"]) if is_layer_weight(k, v) else v for k, v in state.items()}


def is_norm_statistic(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")


@register_attack(
    "quantize",
    {"bits": 8},
    "int8 symmetric per-tensor rounding of every weight and bias "
    "(batch-norm running statistics are buffers, not weights, and are kept)",
)
def _quantize(
    entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any], device: str
) -> dict[str, torch.Tensor]:
    if not 2 <= int(params["bits"]) <= 16:
        raise SrprintError(f"quantize bits must be in [2, 16], got {params['bits']}")
    return {
        k: quantize_tensor(v, int(params["bits"])) if v.is_floating_point() and not is_norm_statistic(k) else v
        for k, v in state.items()
    }


def _match_keys(net_state: dict[str, torch.Tensor], file_state: dict[str, torch.Tensor]) -> dict[str, str]:
    """Checkpoint key -> module key, matched by name or else by identical values (before training)."""
    if set(net_state) >= set(file_state):
        return {k: k for k in file_state}
    free = dict(net_state)
    out = {}
    for kf, vf in file_state.items():
        hit = next(
            (
                kn
                for kn, vn in free.items()
                if vn.shape == vf.shape and vn.dtype == vf.dtype and torch.equal(vn.detach().cpu(), vf)
            ),
            None,
        )
        if hit is None:
            raise SrprintError(f"cannot map the module's weights back to the checkpoint's key {kf!r}")
        out[kf] = hit
        free.pop(hit)
    return out


@register_attack(
    "finetune",
    {"iters": 500, "lr": 1e-5, "batch": 4, "patch": 32, "seed": 0, "data": "bsd68"},
    "Adam fine-tuning (L1, fresh Adam state) on the model's own task: the paper's 500 iterations on "
    "BSD68 photos, with a small learning rate so the held-out PSNR moves by <= 1 dB; ``patch`` is "
    "the HR crop side (at least 8 LR pixels); batch-norm running statistics stay frozen; ``scaled``: "
    "each tensor's learning rate in proportion to its scale (for networks a uniform step collapses, "
    "e.g. FMEN's merged form)",
    optional={"scaled": False},
)
def _finetune(
    entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any], device: str
) -> dict[str, torch.Tensor]:
    from .fingerprint import load_entry_model as load_model

    model = load_model(entry, device=device)
    key_map = _match_keys(model.net.state_dict(), state)
    finetune_model(model, entry.task, params, device)
    trained = model.net.state_dict()
    return {kf: trained[kn].detach().cpu().to(state[kf].dtype) for kf, kn in key_map.items()}


def _reparameterise(entry: ZooEntry, state: dict[str, torch.Tensor], device: str,
                    change: Callable[[torch.nn.Module], int]) -> dict[str, torch.Tensor]:
    """Apply a function-preserving change to the entry's network and map its weights back to the file's keys."""
    from .fingerprint import load_entry_model as load_model

    net = load_model(entry, device="cpu").net.float()
    key_map = _match_keys(net.state_dict(), state)
    change(net)
    new = net.state_dict()
    return {kf: new[kn].detach().cpu().to(state[kf].dtype) for kf, kn in key_map.items()}


def _channel_edit(entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any], device: str,
                  change: Callable[[torch.nn.Module], int], matrix: str) -> Any:
    """``change`` on the traced graph; where ``torch.fx`` cannot trace the network (or finds no chain), the
    graph-free form of the same edit (:func:`srprint.verification.edits.edit_wrapped`), saved as a
    structural edit: the attack works on every family."""
    try:
        return _reparameterise(entry, state, device, change)
    except SrprintError:
        return _structural("wrapped")(entry, state, {**params, "matrix": matrix}, device)


@register_attack("permute", {"seed": 0}, "permute the hidden channels of every conv -> activation -> conv chain "
                 "(outputs unchanged; graph-free form where the graph cannot be traced)")
def _permute(entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any],
             device: str) -> Any:
    from .reparam import permute_hidden

    return _channel_edit(entry, state, params, device, lambda net: permute_hidden(net, seed=int(params["seed"])),
                         "permutation")


@register_attack("rescale", {"seed": 0, "spread": 1.0}, "scale hidden channels by exp(U(-spread, spread)) before "
                 "a ReLU and undo it after (outputs unchanged; graph-free form where the graph cannot be traced)")
def _rescale(entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any],
             device: str) -> Any:
    from .reparam import rescale_hidden

    if not 0 < float(params["spread"]) <= 5:
        raise SrprintError(f"rescale spread must be in (0, 5], got {params['spread']}")
    return _channel_edit(entry, state, params, device, lambda net: rescale_hidden(net, seed=int(params["seed"]),
                                                                                  spread=float(params["spread"])),
                         "scales")


@register_attack("foldbn", {}, "fold every BatchNorm into the conv before it (outputs unchanged)")
def _foldbn(entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any],
            device: str) -> dict[str, torch.Tensor]:
    from .reparam import fold_batchnorm

    return _reparameterise(entry, state, device, fold_batchnorm)


@register_attack("fp16", {}, "cast every floating-point tensor to float16 (stored as float16)")
def _fp16(entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any],
          device: str) -> dict[str, torch.Tensor]:
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


@register_attack("noise", {"sigma": 0.01, "seed": 0}, "add Gaussian noise of sigma x (the tensor's std) to every "
                 "weight and bias")
def _noise(entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any],
           device: str) -> dict[str, torch.Tensor]:
    sigma = float(params["sigma"])
    if not 0 <= sigma <= 1:
        raise SrprintError(f"noise sigma must be in [0, 1], got {sigma}")
    gen = torch.Generator().manual_seed(int(params["seed"]))
    out = {}
    for k, v in state.items():
        if v.is_floating_point() and v.numel() > 1 and not is_norm_statistic(k):
            std = float(v.float().std())
            v = (v.float() + torch.randn(v.shape, generator=gen) * sigma * std).to(v.dtype)
        out[k] = v
    return out


def _structural(name: str) -> AttackFn:
    """An edit of :mod:`srprint.verification.edits` as an attack: the edited network's own weights, saved
    with the ``edited`` loader and the structural operations that rebuild it."""

    def attack(entry: ZooEntry, state: dict[str, torch.Tensor], params: dict[str, Any],
               device: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        from .edits import EDITS, edit_wrapped
        from .fingerprint import load_entry_model as load_model

        model = load_model(entry, device="cpu")
        model.net.float()
        ops = (edit_wrapped if name == "wrapped" else EDITS[name])(model, params)
        if int(params.get("recover", 0)) > 0:  # prune-channels: recovery fine-tuning
            finetune_model(model, entry.task, {"iters": int(params["recover"]), "lr": float(params["lr"]),
                                               "seed": int(params["seed"])}, "cpu")
        prior = entry.labels.get("surgery") if entry.loader == "edited" else None
        surgery = {"base_loader": prior["base_loader"], "base_shapes": prior["base_shapes"],
                   "ops": [*prior["ops"], *ops]} if prior else {
            "base_loader": entry.loader, "base_shapes": {k: list(v.shape) for k, v in state.items()}, "ops": ops}
        new = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
        return new, {"loader": "edited", "surgery": surgery}

    return attack


for _name, (_defaults, _text) in EDIT_ATTACKS.items():
    register_attack(_name, _defaults, _text)(_structural(_name))


def attack_params(name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    a = get_attack(name)
    params = dict(a.defaults)
    for k, v in (overrides or {}).items():
        if v is None:
            continue
        if k in a.optional:
            if type(a.optional[k])(v) != a.optional[k]:
                params[k] = type(a.optional[k])(v)
            continue
        if k not in params:
            raise SpecError(f"attack {name!r} has no parameter {k!r} (has: {', '.join([*params, *a.optional])})")
        params[k] = type(params[k])(v)
    return params


def attacked_id(entry_id: str, name: str, params: dict[str, Any]) -> str:
    main = {"prune": "percent", "quantize": "bits", "finetune": "iters", "noise": "sigma", "insert-identity": "depth",
            "prune-channels": "percent", "widen": "extra", "mix": "cond"}.get(name)
    tag = f"{name}{params[main]:g}" if main and isinstance(params.get(main), int | float) else name
    return f"{entry_id}+{tag}"


def attack_model(
    model_ref: ZooEntry | str | Path,
    name: str,
    out: str | Path,
    *, params: dict[str, Any] | None = None,
    device: str = "cpu",
    psnr_size: int = 96,
    overwrite: bool = False,
) -> ZooEntry:
    """Apply attack ``name`` to a zoo entry and save the result as the zoo entry folder ``out``.

    The new record copies the source's, with ``labels['attack']``, ``labels['attack_params']`` and
    ``labels['parent']`` set, and ``metrics`` holding the held-out PSNR before/after and its change.
    An existing complete ``out`` made by the same attack is returned as is (unless ``overwrite``).

    Raises
    ------
    SrprintError
        On: "refusing to overwrite the source model folder …"; or "already holds another model (…); choose
        another -o or pass --replace".
    """
    from ..zoo.entry import RECORD_FILE, WEIGHTS_FILE, write_entry_folder
    from ..zoo.model import build_model
    from .fingerprint import load_entry_model as load_model

    src = model_ref if isinstance(model_ref, ZooEntry) else ZooEntry.load(model_ref)
    params = attack_params(name, params)
    out = Path(out)
    if out.resolve() == Path(src.path).resolve():
        raise SrprintError(f"refusing to overwrite the source model folder {out}")
    if not overwrite and (out / RECORD_FILE).is_file() and (out / WEIGHTS_FILE).is_file():
        prev = ZooEntry.load(out)
        if (
            prev.labels.get("attack") == name
            and prev.labels.get("attack_params") == params
            and prev.labels.get("parent") == src.id
        ):
            return prev
        raise SrprintError(f"{out} already holds another model ({prev.id}); choose another -o or pass --replace")
    if not overwrite and out.is_dir() and any(out.iterdir()) and not (out / RECORD_FILE).is_file():
        raise SrprintError(f"{out} is a non-empty folder that is not a zoo entry; choose another -o")
    if out.exists() and not out.is_dir():
        raise SrprintError(f"{out} exists and is not a folder")
    t0 = time.perf_counter()
    torch.manual_seed(0)
    state = load_weights(src.weights_path)
    new_state = get_attack(name).fn(src, state, params, device)
    record: dict[str, Any] = {}
    if isinstance(new_state, tuple):  # a structural edit: the record says how to rebuild the edited network
        new_state, record = new_state
    photos = heldout_photos(psnr_size)
    before = task_psnr(load_model(src, device=device), photos, src.task, device=device)
    new_state = {k: v.contiguous() for k, v in new_state.items()}
    entry = dataclasses.replace(
        src,
        id=attacked_id(src.id, name, params),
        path=None,
        loader=record.get("loader", src.loader),
        labels={**src.labels, "attack": name, "attack_params": params, "parent": src.id,
                **({"surgery": record["surgery"]} if "surgery" in record else {})},
        metrics={},
        timings={},
        versions=library_versions(),
    )
    after = task_psnr(build_model(entry, new_state, device=device), photos, src.task, device=device)
    entry.metrics = {"heldout_psnr_before": before, "heldout_psnr_after": after, "psnr_change": after - before}
    entry.timings = {"attack_seconds": round(time.perf_counter() - t0, 2)}
    if not math.isfinite(after):
        raise SrprintError(f"attacked model {entry.id} produces non-finite output")
    try:
        return write_entry_folder(out, entry, lambda path: save_weights(path, new_state))
    except OSError as exc:
        raise SrprintError(f"cannot write the output folder {out}: {exc.strerror or exc}") from exc
