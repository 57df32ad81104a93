"""Architecture hyperparameters derived automatically from a PyTorch module.

Instead of a hand-written table (as Asnani et al. had to write for their 100 models), the parsing
targets of zoo models are read off the network itself:

* module inspection: numbers of convolution / linear / normalisation / attention layers,
  parameters, repeated blocks, upsampler type (pixel shuffle, transposed convolution,
  interpolation);
* a concrete trace of one forward pass (``torch.fx.experimental.proxy_tensor.make_fx`` on a tiny
  input, so data-dependent Python control flow is fine): skip connections (an ``add`` / ``cat`` of
  two activations one of which is an ancestor of the other — biases, mean shifts and attention
  masks, which do not depend on the input, are not counted) and depth (longest chain of
  convolution / matmul operations from input to output).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

_NORM = (
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.LocalResponseNorm,
)
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_DECONV = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_ATTENTION_NAME = re.compile(r"attention|attn|^(ca|se|pa)layer$|nonlocal", re.IGNORECASE)
_WEIGHTED_OPS = ("convolution", "mm", "addmm", "bmm", "matmul", "linear")


@dataclass
class ArchStats:
    """Architecture hyperparameters of one network (see module docstring)."""

    n_conv: int
    n_deconv: int
    n_linear: int
    n_norm: int
    n_attention: int
    n_params: int
    n_blocks: int
    n_skip: int  # residual adds + dense concatenations (-1: trace failed)
    depth: int  # longest conv / matmul chain (-1: trace failed)
    upsampler: str  # pixelshuffle | deconv | interp | none | mixed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_attention(m: nn.Module) -> bool:
    return isinstance(m, nn.MultiheadAttention) or bool(_ATTENTION_NAME.search(type(m).__name__))


def count_attention(module: nn.Module) -> int:
    """Outermost attention modules (by class: multi-head, window, channel, non-local attention)."""
    n = 0
    for child in module.children():
        n += 1 if _is_attention(child) else count_attention(child)
    return n


def count_blocks(module: nn.Module) -> int:
    """Repeated units: non-leaf modules inside a container holding >= 2 siblings of the same class."""
    n = 0
    for child in module.children():
        n += count_blocks(child)
    if isinstance(module, (nn.Sequential, nn.ModuleList)):
        kinds = [type(c) for c in module.children() if len(list(c.children())) > 0]
        for c in module.children():
            if len(list(c.children())) > 0 and kinds.count(type(c)) >= 2:
                n += 1
    return n


def upsampler_type(module: nn.Module) -> str:
    """``pixelshuffle`` | ``deconv`` | ``interp`` | ``mixed`` | ``none`` (from the layers present)."""
    kinds = set()
    for m in module.modules():
        if isinstance(m, nn.PixelShuffle):
            kinds.add("pixelshuffle")
        elif isinstance(m, _DECONV):
            kinds.add("deconv")
        elif isinstance(m, nn.Upsample):
            kinds.add("interp")
    if not kinds:
        return "none"
    return kinds.pop() if len(kinds) == 1 else "mixed"


def trace_graph_stats(module: nn.Module, x: torch.Tensor) -> tuple[int, int, set[str]]:
    """``(n_skip, depth, ops)`` from a concrete aten-level trace of ``module(x)``.

    Returns ``(-1, -1, set())`` when the module cannot be traced.
    """
    from torch.fx.experimental.proxy_tensor import make_fx

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            gm = make_fx(lambda inp: module(inp))(x)
    except Exception:  # noqa: BLE001 - best effort: some third-party modules do not trace
        return -1, -1, set()
    finally:
        module.train(was_training)
    # ancestors as bitsets over input-dependent nodes; depth as weighted-op chain length
    index: dict[Any, int] = {}
    anc: dict[Any, int] = {}
    depth: dict[Any, int] = {}
    ops: set[str] = set()
    n_skip = 0
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            index[node] = len(index)
            anc[node] = 1 << index[node]
            depth[node] = 0
            continue
        if node.op != "call_function":
            continue
        parents = [a for a in node.all_input_nodes if a in anc]
        if not parents:  # depends on parameters / constants only
            continue
        name = getattr(node.target, "__name__", str(node.target)).split(".")[0]
        ops.add(name)
        index[node] = len(index)
        bits = 1 << index[node]
        for p in parents:
            bits |= anc[p]
        anc[node] = bits
        depth[node] = max(depth[p] for p in parents) + (1 if name in _WEIGHTED_OPS else 0)
        if name in ("add", "add_", "cat") and len(parents) >= 2:
            # a skip: one operand is an ancestor of another (x + f(x), cat([x, f(x)]))
            for a in parents:
                if any(b is not a and (anc[b] >> index[a]) & 1 for b in parents):
                    n_skip += 1
                    break
    out_depth = max(depth.values()) if depth else 0
    return n_skip, out_depth, ops


def arch_stats(module: nn.Module, input_size: int = 16, trace: bool = True) -> ArchStats:
    """Derive :class:`ArchStats` from ``module`` (an ``SRModel`` or a bare network).

    Parameters
    ----------
    module : nn.Module
        The network; for tracing it must accept a ``(1, 3, s, s)`` tensor.
    input_size : int
        Side of the random input used for the trace (small: counts do not depend on it).
    trace : bool
        Trace one forward pass for skip connections and depth (else both are -1).
    """
    net = getattr(module, "net", module)
    n_conv = sum(isinstance(m, _CONV) for m in net.modules())
    n_deconv = sum(isinstance(m, _DECONV) for m in net.modules())
    n_linear = sum(isinstance(m, nn.Linear) for m in net.modules())
    n_norm = sum(isinstance(m, _NORM) for m in net.modules())
    n_params = sum(p.numel() for p in net.parameters())
    n_skip, depth = -1, -1
    if trace:
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(1, 3, input_size, input_size, generator=gen)
        params = list(module.parameters())
        if params:
            x = x.to(params[0].device)
        n_skip, depth, _ = trace_graph_stats(module, x)
    return ArchStats(
        n_conv=n_conv,
        n_deconv=n_deconv,
        n_linear=n_linear,
        n_norm=n_norm,
        n_attention=count_attention(net),
        n_params=n_params,
        n_blocks=count_blocks(net),
        n_skip=n_skip,
        depth=depth,
        upsampler=upsampler_type(net),
    )


_ARCH_CACHE: dict[str, ArchStats] = {}


def stats_for_arch(arch: str, scale: int, size: str = "tiny", *, config: dict[str, Any] | None = None) -> ArchStats:
    """:class:`ArchStats` of a registered architecture (random init; weights do not matter)."""
    import json

    from ..zoo.archs import create_arch

    key = json.dumps([arch, scale, size, config], sort_keys=True, default=str)
    if key in _ARCH_CACHE:
        return _ARCH_CACHE[key]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = create_arch(arch, scale, size=size, config=config)
    _ARCH_CACHE[key] = arch_stats(net)
    return _ARCH_CACHE[key]


_ENTRY_CACHE: dict[tuple[str, int, str], ArchStats] = {}


def stats_for_entry(entry: Any) -> ArchStats:
    """:class:`ArchStats` of a zoo entry (trained: rebuilt from its arch config; imported: loaded)."""
    import json

    key = (entry.arch, int(entry.scale), json.dumps(entry.arch_config, sort_keys=True, default=str))
    if entry.source != "imported" and entry.loader == "registry":
        if key not in _ENTRY_CACHE:
            _ENTRY_CACHE[key] = stats_for_arch(entry.arch, entry.scale, config=entry.arch_config)
        return _ENTRY_CACHE[key]
    from ..zoo.model import load_model

    return arch_stats(load_model(entry, device="cpu"))


def zoo_label_table(
    zoo_root: str | Path | None = None, entries: list[Any] | None = None, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per model: its labels (scale, loss, arch, dataset, seed) plus :class:`ArchStats`.

    Models come from a zoo folder / entry list (architecture statistics derived from the modules), or,
    lacking one, from a rendered manifest ``frame`` (then stats are derived from the registered
    arch at the recorded size, for trained models).
    """
    rows: list[dict[str, Any]] = []
    if entries is None and zoo_root is not None:
        from ..zoo.entry import Zoo

        entries = Zoo(zoo_root).entries()
    if entries is not None:
        for e in entries:
            spec = e.spec or {}
            row = {
                "model_id": e.id,
                "source": e.source,
                "arch": e.arch,
                "scale": int(e.scale),
                "loss": spec.get("loss", e.labels.get("loss", "")),
                "dataset": spec.get("dataset", ""),
                "seed": int(spec.get("seed", -1)),
            }
            row.update(stats_for_entry(e).to_dict())
            rows.append(row)
    elif frame is not None:
        models = frame[frame["source"] != "real"].drop_duplicates("model_id")
        for _, r in models.iterrows():
            row = {k: r[k] for k in ("model_id", "source", "arch", "scale", "loss", "dataset", "seed")}
            if r["source"] == "trained":
                row.update(stats_for_arch(r["arch"], int(r["scale"]), size=r.get("size") or "tiny").to_dict())
            rows.append(row)
    return pd.DataFrame(rows)


def render_label_table(data: str | Path, where: str | None = None) -> tuple[Any, Any]:
    """The label table of a render's trained models and the hyperparameter schema fitted to it.

    Parameters
    ----------
    data : str or Path
        The rendered dataset.
    where : str, optional
        A manifest filter applied first.

    Returns
    -------
    tuple of (DataFrame, HyperparamSchema)
        One row per trained model (its labels and architecture statistics), and the schema.

    Raises
    ------
    SrprintError
        If the render holds no trained model.
    DatasetError
        If ``data`` is not a render or ``where`` matches nothing.
    """
    from ..errors import SrprintError
    from ..render.manifest import RenderedDataset
    from .schema import zoo_schema

    ds = RenderedDataset.open(data, where)
    table = zoo_label_table(frame=ds.frame[ds.frame["source"] == "trained"])
    if table.empty:
        raise SrprintError(f"{data}: no trained models to take labels from")
    return table, zoo_schema(table)
