"""Structural edits of a built network, replayable from a record: how an edited model is rebuilt.

An edit that changes the network's shape (a layer inserted after a convolution, a kernel padded with
zeros, hidden channels added or removed) cannot be loaded into the recorded architecture as it is.
Such an entry records its original loader, the shapes of the original checkpoint (so loaders that
read the architecture off the weights, such as spandrel's, can rebuild it) and the list of
structural operations; :func:`apply_structure` replays them on the rebuilt network, whose new
parameters are then filled from the entry's weights. Only shapes change here: the weights come from
the file.

Operations (``{"op": ...}``):

* ``after``: replace convolution ``module`` by ``module`` followed by a new layer: ``kind`` is
  ``linear1x1`` (a ``C x C`` 1x1 convolution, ``bias`` as recorded) or ``zero_block`` (a residual
  branch ``conv3x3 -> ReLU -> conv3x3`` added to the output);
* ``pad_kernel``: grow convolution ``module``'s kernel by ``by`` on every side (padding grows with it);
* ``resize_hidden``: give convolution ``first`` ``channels`` output channels and ``second`` as many
  input channels (a BatchNorm or PReLU between them, listed in ``between``, follows).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError


class ZeroBranchResidual(nn.Module):
    """``y = inner(x); y + branch(y)``: with a zero last convolution in ``branch``, the identity."""

    def __init__(self, inner: nn.Module, channels: int) -> None:
        super().__init__()
        self.inner = inner
        self.branch = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x)
        return y + self.branch(y)


def get_module(net: nn.Module, name: str) -> nn.Module:
    """The submodule ``name`` of ``net``.

    Raises
    ------
    CheckpointError
        If ``net`` has no such submodule.
    """
    mods = dict(net.named_modules())
    if name not in mods:
        raise CheckpointError(f"the network has no layer {name!r} to edit")
    return mods[name]


def set_module(net: nn.Module, name: str, new: nn.Module) -> None:
    """Replace the submodule ``name`` of ``net`` by ``new``."""
    parent_name, _, child = name.rpartition(".")
    setattr(get_module(net, parent_name) if parent_name else net, child, new)


def _conv(net: nn.Module, name: str) -> nn.Conv2d:
    mod = get_module(net, name)
    if not isinstance(mod, nn.Conv2d):
        raise CheckpointError(f"layer {name!r} is a {type(mod).__name__}, not a 2-D convolution")
    return mod


def _with_shape(param: nn.Parameter | None, shape: tuple[int, ...]) -> nn.Parameter | None:
    if param is None:
        return None
    return nn.Parameter(torch.zeros(shape, dtype=param.dtype, device=param.device), requires_grad=param.requires_grad)


def pad_kernel(conv: nn.Conv2d, by: int) -> None:
    """Grow ``conv``'s kernel by ``by`` taps on every side (zero taps) and its padding by as many
    (times the dilation): every output keeps exactly the same inputs and weights.

    Raises
    ------
    CheckpointError
        If the convolution's padding is not numeric or its padding mode is not zeros.
    """
    if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
        raise CheckpointError("only a numerically zero-padded convolution can have its kernel padded")
    dh, dw = conv.dilation
    with torch.no_grad():
        w = torch.nn.functional.pad(conv.weight, (by, by, by, by))
    conv.weight = nn.Parameter(w, requires_grad=conv.weight.requires_grad)
    conv.kernel_size = (conv.kernel_size[0] + 2 * by, conv.kernel_size[1] + 2 * by)
    conv.padding = (conv.padding[0] + by * dh, conv.padding[1] + by * dw)


def resize_hidden(net: nn.Module, first: str, second: str, channels: int, between: list[str]) -> None:
    """Shape-only: ``first`` gets ``channels`` outputs, ``second`` as many inputs, and every per-channel
    module ``between`` them (BatchNorm, PReLU) as many channels (zero-filled; the weights fill them)."""
    a, b = _conv(net, first), _conv(net, second)
    a.weight = _with_shape(a.weight, (channels, *a.weight.shape[1:]))
    a.bias = _with_shape(a.bias, (channels,))
    a.out_channels = channels
    b.weight = _with_shape(b.weight, (b.weight.shape[0], channels, *b.weight.shape[2:]))
    b.in_channels = channels
    for name in between:
        mod = get_module(net, name)
        if isinstance(mod, nn.PReLU) and mod.num_parameters > 1:
            mod.weight = _with_shape(mod.weight, (channels,))
            mod.num_parameters = channels
        elif isinstance(mod, nn.BatchNorm2d):
            mod.num_features = channels
            mod.weight, mod.bias = _with_shape(mod.weight, (channels,)), _with_shape(mod.bias, (channels,))
            for buf in ("running_mean", "running_var"):
                setattr(mod, buf, torch.zeros(channels))


def apply_op(net: nn.Module, op: dict[str, Any]) -> None:
    """Replay one structural operation (module docstring) on ``net``.

    Raises
    ------
    CheckpointError
        If the operation is unknown or names a layer the network does not have.
    """
    kind = op.get("op")
    if kind == "after":
        conv = _conv(net, str(op["module"]))
        c = int(conv.out_channels)
        if op.get("kind") == "linear1x1":
            new: nn.Module = nn.Sequential(conv, nn.Conv2d(c, c, 1, bias=bool(op.get("bias", False))))
        elif op.get("kind") == "zero_block":
            new = ZeroBranchResidual(conv, c)
        else:
            raise CheckpointError(f"unknown inserted layer kind {op.get('kind')!r}")
        set_module(net, str(op["module"]), new)
    elif kind == "pad_kernel":
        pad_kernel(_conv(net, str(op["module"])), int(op.get("by", 1)))
    elif kind == "resize_hidden":
        resize_hidden(net, str(op["first"]), str(op["second"]), int(op["channels"]), list(op.get("between", [])))
    else:
        raise CheckpointError(f"unknown structural edit {kind!r}")


def apply_structure(net: nn.Module, ops: list[dict[str, Any]]) -> nn.Module:
    """Replay ``ops`` in order on ``net`` (in place) and return it.

    Parameters
    ----------
    net : torch.nn.Module
        The network rebuilt from the original record.
    ops : list of dict
        The structural operations the edited record lists.

    Returns
    -------
    torch.nn.Module
        ``net``, now shaped as the edited network (its new parameters still to be loaded).

    Raises
    ------
    CheckpointError
        If an operation is malformed or names a layer the network does not have.
    """
    if not isinstance(ops, list):
        raise CheckpointError("an edited record's structural edits must be a list")
    for op in ops:
        if not isinstance(op, dict):
            raise CheckpointError("an edited record's structural edit must be an object")
        try:
            apply_op(net, op)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"malformed structural edit {op!r:.200}") from exc
    return net
