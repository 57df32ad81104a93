"""Linear junctions of a network's graph: where an adversary can mix channels by any invertible matrix.

A *linear junction* is a set of values that convolutions write (``writers``) and read (``readers``)
through nothing but sums, differences, scalar multiples and identities: a residual stream
(``x = x + block(x) * 0.1``), or two convolutions with nothing between them. For any invertible ``M``,
writing ``M W`` (and ``M b``) in every writer and reading ``W M^-1`` in every reader leaves every
output unchanged: the values in the junction are multiplied by ``M`` and nothing outside sees them.

:func:`linear_junctions` finds them on the ``torch.fx`` graph. A value used by anything else (an
activation, a concatenation, a pixel shuffle, the graph's output), or a sum with a value that no
writer produced (the network's input, a constant), rules its junction out.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .reparam import _graph

_SUMS = {operator.add, operator.iadd, operator.sub, operator.isub, torch.add, torch.sub}
_SCALES = {operator.mul, operator.imul, operator.truediv, operator.itruediv, torch.mul, torch.div}
_SUM_METHODS = {"add", "add_", "sub", "sub_"}
_SCALE_METHODS = {"mul", "mul_", "div", "div_"}
_PASS_MODULES = (nn.Identity, nn.Dropout)


@dataclass(frozen=True)
class Junction:
    """Convolutions writing into and reading from one linear junction of ``channels`` channels."""

    writers: tuple[str, ...]
    readers: tuple[str, ...]
    channels: int


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _linear_inputs(node: torch.fx.Node, mods: dict[str, nn.Module]) -> list[torch.fx.Node] | None:
    """The tensor inputs of ``node`` if it is linear in them (a sum, a scalar multiple, an identity)."""
    if node.kwargs:
        return None
    args = list(node.args)
    nodes = [a for a in args if isinstance(a, torch.fx.Node)]
    if node.op == "call_function" and node.target in _SUMS or node.op == "call_method" and node.target in _SUM_METHODS:
        return nodes if len(nodes) == 2 == len(args) else None
    if node.op == "call_function" and node.target in _SCALES or (node.op == "call_method"
                                                                 and node.target in _SCALE_METHODS):
        if len(args) == 2 and isinstance(args[0], torch.fx.Node) and _is_number(args[1]):
            return [args[0]]
        if node.target in (operator.mul, operator.imul, torch.mul) and len(args) == 2 and _is_number(args[0]) \
                and isinstance(args[1], torch.fx.Node):
            return [args[1]]
        return None
    if node.op == "call_module" and isinstance(mods.get(str(node.target)), _PASS_MODULES) and len(nodes) == 1:
        return nodes
    return None


def _grow(start: torch.fx.Node, conv: Callable[[torch.fx.Node], bool],
          mods: dict[str, nn.Module]) -> tuple[set[torch.fx.Node], set[torch.fx.Node], bool]:
    """The junction around conv node ``start``'s output: its writers, its readers, and whether it is linear."""
    values, writers, readers, todo = {start}, {start}, set(), [start]

    def join(x: torch.fx.Node) -> bool:
        """Add ``x`` (a value the junction sums) to it: a conv output (a writer) or a linear node."""
        if x in values:
            return True
        if conv(x):
            writers.add(x)
        elif _linear_inputs(x, mods) is None:
            return False
        values.add(x)
        todo.append(x)
        return True

    while todo:
        v = todo.pop()
        ins = [] if v in writers else (_linear_inputs(v, mods) or [])
        if not all(join(x) for x in ins):  # every term of a sum in the junction is in it too
            return writers, readers, False
        for u in v.users:
            if conv(u) and u.args and u.args[0] is v and len(u.args) == 1:
                readers.add(u)
            elif not join(u):
                return writers, readers, False
    return writers, readers, True


def linear_junctions(net: nn.Module) -> list[Junction]:
    """Every linear junction of ``net`` (module docstring), widest first.

    Parameters
    ----------
    net : torch.nn.Module
        The network (traced with ``torch.fx``).

    Returns
    -------
    list of Junction
        Junctions whose writers and readers are ungrouped 2-D convolutions, each called once, all with
        the same channel count.

    Raises
    ------
    SrprintError
        If ``torch.fx`` cannot trace the network.
    """
    graph = _graph(net)
    mods = dict(net.named_modules())
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[str(node.target)] = calls.get(str(node.target), 0) + 1

    def conv(node: torch.fx.Node) -> bool:
        m = mods.get(str(node.target)) if node.op == "call_module" else None
        return isinstance(m, nn.Conv2d) and m.groups == 1 and calls[str(node.target)] == 1 and not node.kwargs

    seen: set[torch.fx.Node] = set()
    found: list[Junction] = []
    for start in graph.nodes:
        if not conv(start) or start in seen:
            continue
        writers, readers, ok = _grow(start, conv, mods)
        seen |= writers
        if not ok or not readers:
            continue
        widths = {mods[str(w.target)].out_channels for w in writers} | {mods[str(r.target)].in_channels
                                                                         for r in readers}
        if len(widths) == 1:
            found.append(Junction(tuple(sorted(str(w.target) for w in writers)),
                                  tuple(sorted(str(r.target) for r in readers)), widths.pop()))
    return sorted(found, key=lambda j: (-j.channels, -len(j.writers) - len(j.readers)))


@torch.no_grad()
def mix_junction(net: nn.Module, junction: Junction, matrix: torch.Tensor) -> None:
    """Multiply ``junction``'s values by ``matrix`` (``M``): writers get ``M W``, readers ``W M^-1``."""
    mods = dict(net.named_modules())
    m64 = matrix.double()
    inv = torch.linalg.inv(m64)
    for name in junction.writers:
        conv = mods[name]
        w = conv.weight.double()
        conv.weight.copy_(torch.einsum("po,oihw->pihw", m64, w).to(conv.weight.dtype))
        if conv.bias is not None:
            conv.bias.copy_((m64 @ conv.bias.double()).to(conv.bias.dtype))
    for name in junction.readers:
        conv = mods[name]
        w = conv.weight.double()
        conv.weight.copy_(torch.einsum("oihw,ij->ojhw", w, inv).to(conv.weight.dtype))
