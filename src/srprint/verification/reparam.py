"""Function-preserving re-parameterisations: what a thief can do to a copy without changing its outputs.

* :func:`permute_hidden` reorders the hidden channels of every ``conv -> [BatchNorm] -> [ReLU] -> conv``
  chain (the first conv's filters and bias, the BatchNorm's parameters and statistics, the second
  conv's input channels);
* :func:`rescale_hidden` multiplies each hidden channel of every ``conv -> [ReLU | LeakyReLU] -> conv``
  chain by ``a > 0`` and divides the matching input channel of the next conv by ``a`` (ReLU is
  positively homogeneous);
* :func:`fold_batchnorm` folds every BatchNorm that directly follows a conv into it and turns the
  BatchNorm into the identity (so the folded weights still load into the same architecture).

Chains are found on the ``torch.fx`` graph of the network: a node is only rewritten when every
intermediate value has a single user, so no residual or concatenation reads the changed channels.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import SrprintError

_ACT_MODULES = (nn.ReLU, nn.LeakyReLU)
_ACT_FUNCTIONS = (torch.relu, torch.nn.functional.relu, torch.nn.functional.leaky_relu, torch.relu_)
_NORMS = (nn.BatchNorm2d,)


@dataclass(frozen=True)
class Chain:
    """``first -> norms -> activation? -> second``, module names in the network."""

    first: str
    norms: tuple[str, ...]
    activated: bool
    second: str


def _graph(net: nn.Module) -> torch.fx.Graph:
    try:
        return torch.fx.symbolic_trace(net).graph
    except Exception as exc:  # noqa: BLE001 - fx fails in many ways on dynamic code
        raise SrprintError(f"cannot trace the network's graph for re-parameterisation ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc


def find_chains(net: nn.Module) -> list[Chain]:
    """Every ``conv -> [BatchNorm] -> [activation] -> conv`` chain whose hidden channels nothing else reads.

    Raises
    ------
    SrprintError
        The network cannot be traced by ``torch.fx``.
    """
    graph = _graph(net)
    mods = dict(net.named_modules())
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1

    def conv(node: torch.fx.Node) -> bool:
        m = mods.get(node.target) if node.op == "call_module" else None
        return isinstance(m, nn.Conv2d) and m.groups == 1 and calls[node.target] == 1

    chains = []
    for node in graph.nodes:
        if not conv(node):
            continue
        cur, norms, activated = node, [], False
        while len(cur.users) == 1:
            nxt = next(iter(cur.users))
            m = mods.get(nxt.target) if nxt.op == "call_module" else None
            if conv(nxt) and nxt.args and nxt.args[0] is cur:
                chains.append(Chain(node.target, tuple(norms), activated, nxt.target))
                break
            if isinstance(m, _NORMS) and not activated and calls[nxt.target] == 1:
                norms.append(nxt.target)
            elif isinstance(m, _ACT_MODULES) or (nxt.op == "call_function" and nxt.target in _ACT_FUNCTIONS):
                activated = True
            elif nxt.op == "call_function" and nxt.target is operator.getitem:
                break
            else:
                break
            cur = nxt
    return chains


def _check_chains(chains: list[Chain], what: str) -> None:
    if not chains:
        raise SrprintError(f"the network has no conv -> activation -> conv chain to {what}")


@torch.no_grad()
def permute_hidden(net: nn.Module, *, seed: int = 0) -> int:
    """Permute the hidden channels of every chain in place; returns the number of chains changed.

    Raises
    ------
    SrprintError
        No chain found, or the graph cannot be traced.
    """
    chains = find_chains(net)
    _check_chains(chains, "permute")
    mods = dict(net.named_modules())
    gen = torch.Generator().manual_seed(seed)
    for ch in chains:
        a, b = mods[ch.first], mods[ch.second]
        perm = torch.randperm(a.out_channels, generator=gen)
        a.weight.copy_(a.weight[perm])
        if a.bias is not None:
            a.bias.copy_(a.bias[perm])
        for name in ch.norms:
            bn = mods[name]
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                if t is not None:
                    t.copy_(t[perm])
        b.weight.copy_(b.weight[:, perm])
    return len(chains)


@torch.no_grad()
def rescale_hidden(net: nn.Module, *, seed: int = 0, spread: float = 1.0) -> int:
    """Scale hidden channel ``c`` by ``exp(u_c)``, ``u_c ~ U(-spread, spread)``, and the next conv's
    input ``c`` by ``exp(-u_c)``, for every chain without BatchNorm; returns the number of chains changed.

    Raises
    ------
    SrprintError
        No such chain, or the graph cannot be traced.
    """
    chains = [c for c in find_chains(net) if not c.norms]
    _check_chains(chains, "rescale")
    mods = dict(net.named_modules())
    gen = torch.Generator().manual_seed(seed)
    for ch in chains:
        a, b = mods[ch.first], mods[ch.second]
        s = torch.exp((torch.rand(a.out_channels, generator=gen) * 2 - 1) * spread).to(a.weight.dtype)
        a.weight.mul_(s.view(-1, 1, 1, 1))
        if a.bias is not None:
            a.bias.mul_(s)
        b.weight.div_(s.view(1, -1, 1, 1))
    return len(chains)


@torch.no_grad()
def fold_batchnorm(net: nn.Module) -> int:
    """Fold every BatchNorm that directly follows a conv into it; the BatchNorm becomes the identity.

    Raises
    ------
    SrprintError
        No conv -> BatchNorm pair, or the graph cannot be traced.
    """
    graph = _graph(net)
    mods = dict(net.named_modules())
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(mods.get(node.target), nn.Conv2d) or len(node.users) != 1:
            continue
        nxt = next(iter(node.users))
        if nxt.op == "call_module" and isinstance(mods.get(nxt.target), _NORMS):
            pairs.append((mods[node.target], mods[nxt.target]))
    if not pairs:
        raise SrprintError("the network has no conv -> BatchNorm pair to fold")
    for conv, bn in pairs:
        s = (bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)) / torch.sqrt(
            bn.running_var + bn.eps)
        conv.weight.mul_(s.view(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(s)
        new_bias = (bias - bn.running_mean) * s + (bn.bias if bn.bias is not None else 0)
        if conv.bias is not None:
            conv.bias.copy_(new_bias)
            if bn.bias is not None:
                bn.bias.zero_()
        elif bn.bias is not None:  # the conv has no bias to take the shift: the BatchNorm keeps it
            bn.bias.copy_(new_bias)
        if bn.weight is not None:
            bn.weight.fill_(1.0)
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
    return len(pairs)
