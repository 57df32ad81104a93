"""Function-preserving edits beyond permutation and rescaling: what a thief who read the README can do.

Every edit here works on any network srprint loads (a published family or one of srprint's own);
those that need the graph use ``torch.fx`` and fall back to a graph-free form where it cannot trace:

* ``mix``: multiply a linear junction (:mod:`srprint.verification.junctions`: a residual stream, two
  convolutions with nothing between them) by a random invertible matrix (orthogonal, or dense with
  condition number ``cond``). Without a junction (untraceable graph): the widest convolution ``W``
  becomes ``M W`` followed by an inserted 1x1 convolution ``M^-1``.
* ``signflip``: flip the sign of half the channels of every linear junction, and of hidden channels
  through odd activations and PReLU (``PReLU_a(x) = -a PReLU_{1/a}(-x)``).
* ``insert-identity``: after the convolution at relative depth ``depth`` (0 = first, 1 = last), a 1x1
  identity convolution (``kind=conv``) or a residual block whose last convolution is zero (``kind=block``).
* ``widen``: add ``extra`` hidden channels (random filters that nothing reads) to every
  ``conv -> activation -> conv`` chain; without a chain, to one convolution followed by a 1x1 selector.
* ``padkernel``: pad every convolution's kernel with ``by`` zero taps on every side (padding grows too).
* ``prune-channels``: remove the ``percent`` % lowest-norm hidden channels of every chain, then
  fine-tune ``recover`` steps to recover (not exact; the only edit here that changes the outputs).

An edit returns the structural operations it made (:mod:`srprint.zoo.surgery`), so the edited model is
saved with the ``edited`` loader and rebuilt exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..errors import SrprintError
from ..zoo.surgery import apply_op, get_module

EditFn = Callable[[Any, dict[str, Any]], list[dict[str, Any]]]
_ODD = (nn.Tanh, nn.Hardtanh, nn.Softsign)


def conv_call_order(model: Any) -> list[str]:
    """Names of the 2-D convolutions of ``model.net`` in the order a forward pass first calls them."""
    net = model.net
    order: list[str] = []
    names = {id(m): n for n, m in net.named_modules()}

    def hook(mod: nn.Module, inputs: Any, output: Any) -> None:
        name = names.get(id(mod))
        if name is not None and name not in order:
            order.append(name)

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model.float().cpu().eval().infer(torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0)))
    finally:
        for h in handles:
            h.remove()
    return order


def random_invertible(n: int, *, seed: int, cond: float = 1.0) -> torch.Tensor:
    """A random ``n x n`` matrix with singular values log-spaced in ``[1, cond]`` (orthogonal when 1)."""
    gen = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    s = torch.logspace(0, float(torch.log10(torch.tensor(max(cond, 1.0)))), n, dtype=torch.float64)
    return (u * s) @ v.T


def _junctions(net: nn.Module) -> list[Any]:
    from .junctions import linear_junctions

    try:
        return linear_junctions(net)
    except SrprintError:
        return []


@torch.no_grad()
def _wrap_linear(model: Any, name: str, matrix: torch.Tensor) -> list[dict[str, Any]]:
    """``conv -> conv1x1`` with ``M W`` and ``M^-1`` (the graph-free mixing)."""
    conv = get_module(model.net, name)
    op = {"op": "after", "module": name, "kind": "linear1x1", "bias": False}
    apply_op(model.net, op)
    m64 = matrix.double()
    conv.weight.copy_(torch.einsum("po,oihw->pihw", m64, conv.weight.double()).to(conv.weight.dtype))
    if conv.bias is not None:
        conv.bias.copy_((m64 @ conv.bias.double()).to(conv.bias.dtype))
    get_module(model.net, name)[1].weight.copy_(torch.linalg.inv(m64)[:, :, None, None].to(conv.weight.dtype))
    return [op]


@torch.no_grad()
def edit_mix(model: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``mix`` (module docstring): returns the structural operations (none when a junction was mixed)."""
    from .junctions import mix_junction

    seed, cond = int(params.get("seed", 0)), float(params.get("cond", 1.0))
    if not 1.0 <= cond <= 1e6:  # also refuses nan
        raise SrprintError(f"mix cond must be in [1, 1e6], got {cond}")
    junctions = [j for j in _junctions(model.net) if j.channels > 1]
    if junctions:
        for k, j in enumerate(junctions[: int(params.get("junctions", 1))]):
            mix_junction(model.net, j, random_invertible(j.channels, seed=seed + k, cond=cond))
        return []
    order = [n for n in conv_call_order(model) if get_module(model.net, n).groups == 1]
    if not order:  # a grouped conv's filters read one group each: mixing its outputs would mix groups
        raise SrprintError("the network has no ungrouped 2-D convolution to mix")
    name = max(order[:-1] or order, key=lambda n: get_module(model.net, n).out_channels)
    return _wrap_linear(model, name, random_invertible(get_module(model.net, name).out_channels, seed=seed, cond=cond))


def _odd_chains(net: nn.Module) -> list[tuple[str, str, str]]:
    """``(conv, activation, conv)`` chains through PReLU or an odd activation, hidden values used once."""
    from .reparam import _graph

    try:
        graph = _graph(net)
    except SrprintError:
        return []
    mods = dict(net.named_modules())
    out = []
    for node in graph.nodes:
        m = mods.get(str(node.target)) if node.op == "call_module" else None
        if not isinstance(m, nn.Conv2d) or m.groups != 1 or len(node.users) != 1:
            continue
        act = next(iter(node.users))
        am = mods.get(str(act.target)) if act.op == "call_module" else None
        odd = act.op == "call_function" and act.target in (torch.tanh,)
        if not (isinstance(am, (nn.PReLU, *_ODD)) or odd) or len(act.users) != 1:
            continue
        nxt = next(iter(act.users))
        nm = mods.get(str(nxt.target)) if nxt.op == "call_module" else None
        if isinstance(nm, nn.Conv2d) and nm.groups == 1 and nxt.args and nxt.args[0] is act:
            out.append((str(node.target), str(act.target) if am is not None else "", str(nxt.target)))
    return out


@torch.no_grad()
def edit_signflip(model: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``signflip`` (module docstring).

    Raises
    ------
    SrprintError
        If the network has no junction and no PReLU / odd-activation chain to flip through.
    """
    from .junctions import mix_junction

    gen = torch.Generator().manual_seed(int(params.get("seed", 0)))
    net, done = model.net, 0
    for j in _junctions(net):
        signs = torch.where(torch.rand(j.channels, generator=gen) < 0.5, -1.0, 1.0).double()
        mix_junction(net, j, torch.diag(signs))
        done += 1
    for first, act_name, second in _odd_chains(net):
        a, b = get_module(net, first), get_module(net, second)
        act = get_module(net, act_name) if act_name else None
        flip = torch.rand(a.out_channels, generator=gen) < 0.5
        if isinstance(act, nn.PReLU):
            slope = act.weight.detach().clone()
            if slope.numel() == 1:  # one shared slope: every channel flips, or the others would see 1/a
                flip[:] = True
                factor = torch.full((a.out_channels,), float(slope[0]))
            else:
                factor = slope.clone()
            flip &= factor.abs() > 1e-3  # PReLU_0 is a ReLU: no sign symmetry
            if not flip.any():
                continue
            if slope.numel() == 1:
                act.weight.copy_(1.0 / slope)
            else:
                act.weight[flip] = 1.0 / slope[flip]
            col = torch.where(flip, -factor, torch.ones_like(factor))
        else:  # odd: f(-x) = -f(x)
            col = torch.where(flip, -1.0, 1.0)
        row = torch.where(flip, -1.0, 1.0)
        a.weight.mul_(row.view(-1, 1, 1, 1).to(a.weight.dtype))
        if a.bias is not None:
            a.bias.mul_(row.to(a.bias.dtype))
        b.weight.mul_(col.view(1, -1, 1, 1).to(b.weight.dtype))
        done += 1
    if not done:  # graph-free: flip the signs of one convolution's outputs and undo them in an inserted 1x1
        return edit_wrapped(model, {**params, "matrix": "signs"})
    return []


@torch.no_grad()
def edit_insert_identity(model: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``insert-identity`` (module docstring)."""
    order = conv_call_order(model)
    if not order:
        raise SrprintError("the network has no 2-D convolution to insert an identity after")
    depth = float(params.get("depth", 0.0))
    name = order[min(int(round(depth * (len(order) - 1))), len(order) - 1)]
    kind = str(params.get("kind", "conv"))
    if kind not in ("conv", "block"):
        raise SrprintError(f"insert-identity kind must be conv or block, got {kind!r}")
    op = {"op": "after", "module": name, "kind": "linear1x1" if kind == "conv" else "zero_block", "bias": True}
    apply_op(model.net, op)
    new = get_module(model.net, name)
    if kind == "conv":
        c = new[1].weight.shape[0]
        new[1].weight.copy_(torch.eye(c)[:, :, None, None])
        new[1].bias.zero_()
    else:
        torch.manual_seed(int(params.get("seed", 0)))
        new.branch[0].reset_parameters()
        new.branch[2].weight.zero_()
        new.branch[2].bias.zero_()
    return [op]


@torch.no_grad()
def edit_padkernel(model: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``padkernel`` (module docstring): every zero-padded convolution, or ``limit`` of them."""
    by = int(params.get("by", 1))
    if not 1 <= by <= 3:
        raise SrprintError(f"padkernel by must be 1, 2 or 3, got {by}")
    ops = []
    for name in conv_call_order(model):
        conv = get_module(model.net, name)
        if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
            continue
        op = {"op": "pad_kernel", "module": name, "by": by}
        apply_op(model.net, op)
        ops.append(op)
    if not ops:
        raise SrprintError("the network has no zero-padded convolution to pad")
    return ops


def _chains(net: nn.Module) -> list[Any]:
    from .reparam import find_chains

    try:
        return [c for c in find_chains(net) if not c.norms]
    except SrprintError:
        return []


@torch.no_grad()
def _resize(net: nn.Module, chain: Any, keep: torch.Tensor, extra: int, gen: torch.Generator) -> dict[str, Any]:
    a, b = get_module(net, chain.first), get_module(net, chain.second)
    wa, wb = a.weight.detach().clone(), b.weight.detach().clone()
    ba = None if a.bias is None else a.bias.detach().clone()
    channels = int(keep.numel()) + extra
    op = {"op": "resize_hidden", "first": chain.first, "second": chain.second, "channels": channels, "between": []}
    apply_op(net, op)
    new_rows = torch.randn((extra, *wa.shape[1:]), generator=gen).to(wa.dtype) * float(wa.std())
    a.weight.copy_(torch.cat([wa[keep], new_rows]))
    if ba is not None:
        a.bias.copy_(torch.cat([ba[keep], torch.randn(extra, generator=gen).to(ba.dtype) * float(ba.std())]))
    b.weight.copy_(torch.cat([wb[:, keep], torch.zeros((wb.shape[0], extra, *wb.shape[2:]), dtype=wb.dtype)], dim=1))
    return op


def edit_widen(model: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``widen`` (module docstring)."""
    extra = int(params.get("extra", 4))
    if not 1 <= extra <= 1024:
        raise SrprintError(f"widen extra must be in [1, 1024], got {extra}")
    gen = torch.Generator().manual_seed(int(params.get("seed", 0)))
    chains = _chains(model.net)
    if chains:
        return [_resize(model.net, ch, torch.arange(get_module(model.net, ch.first).out_channels), extra, gen)
                for ch in chains]
    order = [n for n in conv_call_order(model) if get_module(model.net, n).groups == 1]
    if not order:
        raise SrprintError("the network has no ungrouped 2-D convolution to widen")
    name = order[len(order) // 2]
    c = get_module(model.net, name).out_channels
    ops = _wrap_linear(model, name, torch.eye(c, dtype=torch.float64))
    with torch.no_grad():  # now widen the wrapped conv: its 1x1 selector reads only the original channels
        seq = get_module(model.net, name)
        conv, sel = seq[0], seq[1]
        wa = conv.weight.detach().clone()
        ba = None if conv.bias is None else conv.bias.detach().clone()
        op = {"op": "resize_hidden", "first": f"{name}.0", "second": f"{name}.1", "channels": c + extra,
              "between": []}
        apply_op(model.net, op)
        conv.weight.copy_(torch.cat([wa, torch.randn((extra, *wa.shape[1:]), generator=gen).to(wa.dtype)
                                     * float(wa.std())]))
        if ba is not None:
            conv.bias.copy_(torch.cat([ba, torch.zeros(extra, dtype=ba.dtype)]))
        sel.weight.copy_(torch.cat([torch.eye(c), torch.zeros(c, extra)], dim=1)[:, :, None, None])
    return [*ops, op]


def edit_prune_channels(model: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``prune-channels`` (module docstring): the structural prune; the recovery fine-tuning is the
    attack's (:func:`srprint.verification.finetuning.finetune_model`)."""
    percent = float(params.get("percent", 10.0))
    if not 0 < percent < 90:
        raise SrprintError(f"prune-channels percent must be in (0, 90), got {percent}")
    chains = _chains(model.net)
    if not chains:
        raise SrprintError("the network has no conv -> activation -> conv chain whose channels can be pruned "
                           "(torch.fx cannot trace it, or every hidden value is read elsewhere)")
    ops = []
    gen = torch.Generator().manual_seed(0)
    for ch in chains:
        a, b = get_module(model.net, ch.first), get_module(model.net, ch.second)
        score = a.weight.detach().flatten(1).norm(dim=1) * b.weight.detach().transpose(0, 1).flatten(1).norm(dim=1)
        n_keep = max(1, a.out_channels - int(round(percent / 100 * a.out_channels)))
        keep = torch.sort(torch.argsort(score, descending=True)[:n_keep]).values
        ops.append(_resize(model.net, ch, keep, 0, gen))
    return ops


def edit_wrapped(model: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The graph-free form of a channel edit, for networks ``torch.fx`` cannot trace: the widest ungrouped
    convolution ``W`` becomes ``D W`` followed by an inserted 1x1 convolution ``D^-1``, with ``D`` a
    permutation (``matrix=permutation``), a positive diagonal (``scales``, ``exp(U(-spread, spread))``) or
    random signs (``signs``).

    Raises
    ------
    SrprintError
        If the network has no ungrouped convolution, or ``matrix`` is unknown.
    """
    order = [n for n in conv_call_order(model) if get_module(model.net, n).groups == 1]
    if not order:
        raise SrprintError("the network has no ungrouped 2-D convolution to edit")
    name = max(order[:-1] or order, key=lambda n: get_module(model.net, n).out_channels)
    c = get_module(model.net, name).out_channels
    gen = torch.Generator().manual_seed(int(params.get("seed", 0)))
    kind = params.get("matrix")
    if kind == "permutation":
        d = torch.eye(c, dtype=torch.float64)[torch.randperm(c, generator=gen)]
    elif kind == "scales":
        spread = float(params.get("spread", 1.0))
        d = torch.diag(torch.exp((torch.rand(c, generator=gen, dtype=torch.float64) * 2 - 1) * spread))
    elif kind == "signs":
        d = torch.diag(torch.where(torch.rand(c, generator=gen) < 0.5, -1.0, 1.0).double())
    else:
        raise SrprintError(f"unknown channel edit matrix {kind!r}")
    return _wrap_linear(model, name, d)


EDITS: dict[str, EditFn] = {
    "mix": edit_mix,
    "signflip": edit_signflip,
    "insert-identity": edit_insert_identity,
    "widen": edit_widen,
    "padkernel": edit_padkernel,
    "prune-channels": edit_prune_channels,
}
