"""Reader for frozen TensorFlow 1 GraphDefs (``.pb``): OpenCV ``dnn_superres`` FSRCNN / ESPCN / LapSRN.

No TensorFlow needed: the GraphDef protobuf classes that ship with ``tensorboard`` parse the file,
``Const`` nodes give the weights, and the graph's structure says which of srprint's native ports
(the ``fsrcnn``, ``espcn`` and ``lapsrn`` families of :mod:`srprint.zoo.families`) it is. Only a
small op set is understood; anything else is refused with the op's name. After mapping, the port is
checked against a direct evaluation of the graph (:func:`run_graphdef`) on a random input.

Conventions handled here:

* TF conv kernels are ``HWIO``; torch wants ``OIHW``. TF 'SAME' padding with an even kernel puts the
  extra pixel after (handled by the LapSRN port).
* TF ``DepthToSpace`` (NHWC) reads channel ``(i*bs + j)*C + c`` for output pixel offset ``(i, j)`` and
  colour ``c``; torch ``pixel_shuffle`` reads ``c*bs*bs + i*bs + j``. The conv feeding it is permuted
  by :func:`depth_to_space_permutation` (identical orders when ``C == 1``, as in these models).
* The models work on the luma channel in ``[0, 1]``, NHWC ``(B, H, W, 1)`` (placeholder
  ``IteratorGetNext``); the zoo entry records ``grey=True`` and ``SRModel`` does the YCbCr split
  (full-range BT.601 luma, chroma upscaled bicubically), which is what OpenCV's ``dnn_superres``
  does. Feeding studio-swing luma instead (``input_range=(16/255, 235/255)``) scored 0.01-0.07 dB
  lower on Set5, so full range is kept.
* These exports were trained on LR made without antialiasing (``cv2.resize``, INTER_CUBIC); on
  srprint's antialiased bicubic LR their x3/x4 gains over bicubic are small or nil (FSRCNN x4 on
  3 Set5 images: -0.03 dB here, +0.66 dB with non-antialiased LR). That is the data, not the port:
  every mapped port is checked against a direct evaluation of the graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import CheckpointError
from ..archs import create_arch
from ..detection import Detection, ReadResult, StateDict, register_reader

SUPPORTED_OPS = frozenset({
    "Const", "Placeholder", "Identity", "Conv2D", "Add", "AddV2", "BiasAdd", "Sub", "Mul", "Relu", "Abs",
    "Tanh", "DepthToSpace", "Transpose",
})
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 19: np.float16}


# ----------------------------------------------------------------------------------------------
# GraphDef parsing
# ----------------------------------------------------------------------------------------------


def load_graphdef(path: str | Path) -> Any:
    """Parse a binary GraphDef; :class:`CheckpointError` if the file is not one.

    Raises
    ------
    CheckpointError
        On: "reading .pb files needs the 'tensorboard' package"; or "is a directory, expected a .pb file".
    """
    try:
        from tensorboard.compat.proto import graph_pb2
    except ImportError as exc:  # pragma: no cover
        raise CheckpointError(f"{path}: reading .pb files needs the 'tensorboard' package") from exc
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, expected a .pb file")
    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(path.read_bytes())
    except Exception as exc:  # protobuf raises DecodeError (and others) on truncated/corrupt input
        raise CheckpointError(f"{path}: not a valid TensorFlow GraphDef ({type(exc).__name__}: {exc})") from exc
    if not any(n.op == "Placeholder" for n in graph.node):
        raise CheckpointError(f"{path}: GraphDef has no input placeholder (truncated or not a model graph)")
    return graph


def check_ops(graph: Any, path: str | Path = "<graph>") -> None:
    """Refuse a graph using an op outside :data:`SUPPORTED_OPS`, naming the op and its node.

    Raises
    ------
    CheckpointError
        On: "unsupported TensorFlow op … (node …); supported: …".
    """
    for node in graph.node:
        if node.op not in SUPPORTED_OPS:
            raise CheckpointError(
                f"{path}: unsupported TensorFlow op {node.op!r} (node {node.name!r}); "
                f"supported: {', '.join(sorted(SUPPORTED_OPS))}"
            )


def const_array(node: Any) -> np.ndarray:
    """The value of a ``Const`` node (``tensor_content`` bytes, or repeated ``*_val`` fields).

    Raises
    ------
    CheckpointError
        On: "Const node …: unsupported dtype enum …".
    """
    t = node.attr["value"].tensor
    if t.dtype not in _DTYPES:
        raise CheckpointError(f"Const node {node.name!r}: unsupported dtype enum {t.dtype}")
    dtype = _DTYPES[t.dtype]
    shape = tuple(int(d.size) for d in t.tensor_shape.dim)
    if t.tensor_content:
        return np.frombuffer(t.tensor_content, dtype=dtype).reshape(shape).copy()
    vals = list(t.float_val) or list(t.double_val) or list(t.int_val) or list(t.int64_val) or list(t.half_val)
    n = int(np.prod(shape)) if shape else 1
    arr = np.asarray(vals, dtype=dtype)
    if arr.size == 1 and n != 1:
        arr = np.full(n, arr.item(), dtype=dtype)
    return arr.reshape(shape)


def _node_input(name: str) -> str:
    return name.split(":")[0].lstrip("^")


class Graph:
    """Index over a GraphDef: nodes by name, consumers, constant values."""

    def __init__(self, graph: Any) -> None:
        self.nodes = {n.name: n for n in graph.node}
        self.order = [n.name for n in graph.node]
        self.consumers: dict[str, list[str]] = {n: [] for n in self.nodes}
        for n in graph.node:
            for i in n.input:
                self.consumers.setdefault(_node_input(i), []).append(n.name)
        self.consts = {n.name: const_array(n) for n in graph.node if n.op == "Const"}

    def inputs(self, name: str) -> list[str]:
        return [_node_input(i) for i in self.nodes[name].input]

    def ops(self, op: str) -> list[str]:
        return [n for n in self.order if self.nodes[n].op == op]

    def const_input(self, name: str) -> np.ndarray | None:
        vals = [self.consts[i] for i in self.inputs(name) if i in self.consts]
        return vals[0] if len(vals) == 1 else None

    def data_input(self, name: str) -> str:
        data = [i for i in self.inputs(name) if i not in self.consts]
        return data[0]

    def consumer_ops(self, name: str) -> dict[str, str]:
        return {self.nodes[c].op: c for c in self.consumers.get(name, [])}

    def attr_int(self, name: str, key: str) -> int:
        return int(self.nodes[name].attr[key].i)


# ----------------------------------------------------------------------------------------------
# Reference evaluation of a graph (used to validate the native port)
# ----------------------------------------------------------------------------------------------


def tf_depth_to_space(x: torch.Tensor, block: int) -> torch.Tensor:
    """TensorFlow ``DepthToSpace`` semantics on an NCHW tensor."""
    b, c, h, w = x.shape
    cout = c // (block * block)
    x = x.reshape(b, block, block, cout, h, w).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(b, cout, h * block, w * block)


def depth_to_space_permutation(cout: int, block: int) -> list[int]:
    """Index ``p`` with ``pixel_shuffle(y[:, p]) == tf_depth_to_space(y)`` for ``cout * block**2`` channels."""
    bb = block * block
    return [(t % bb) * cout + t // bb for t in range(cout * bb)]


def _same_pad(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    return F.pad(x, ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2))


def _channel_const(v: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(v)).float()
    return t.view(1, -1, 1, 1) if t.ndim == 1 else t


@torch.no_grad()
def run_graphdef(graph: Any, x: torch.Tensor, output: str | None = None) -> torch.Tensor:
    """Evaluate a GraphDef (ops in :data:`SUPPORTED_OPS`) on an NCHW tensor, computing in NCHW.

    The trailing NHWC->NCHW ``Transpose`` of the export is therefore the identity here.

    Raises
    ------
    CheckpointError
        On: "Conv2D …: only stride 1 is supported"; or "Transpose …: only the NHWC->NCHW output transpose is
        supported".
    """
    g = graph if isinstance(graph, Graph) else Graph(graph)
    vals: dict[str, torch.Tensor] = {}
    for name in g.order:
        node = g.nodes[name]
        op = node.op
        if op == "Const":
            continue
        args = [vals[i] if i in vals else _channel_const(g.consts[i]) for i in g.inputs(name)]
        if op == "Placeholder":
            vals[name] = x
        elif op == "Identity":
            vals[name] = args[0]
        elif op == "Conv2D":
            w = torch.from_numpy(g.consts[g.inputs(name)[1]]).float().permute(3, 2, 0, 1)
            if list(node.attr["strides"].list.i) not in ([], [1, 1, 1, 1]):
                raise CheckpointError(f"Conv2D {name!r}: only stride 1 is supported")
            pad = node.attr["padding"].s.decode()
            xin = _same_pad(args[0], w.shape[2], w.shape[3]) if pad == "SAME" else args[0]
            vals[name] = F.conv2d(xin, w)
        elif op in ("Add", "AddV2", "BiasAdd"):
            vals[name] = args[0] + args[1]
        elif op == "Sub":
            vals[name] = args[0] - args[1]
        elif op == "Mul":
            vals[name] = args[0] * args[1]
        elif op == "Relu":
            vals[name] = F.relu(args[0])
        elif op == "Abs":
            vals[name] = args[0].abs()
        elif op == "Tanh":
            vals[name] = torch.tanh(args[0])
        elif op == "DepthToSpace":
            vals[name] = tf_depth_to_space(args[0], g.attr_int(name, "block_size"))
        elif op == "Transpose":
            perm = [int(v) for v in g.consts[g.inputs(name)[1]].ravel()]
            if perm != [0, 3, 1, 2]:
                raise CheckpointError(f"Transpose {name!r}: only the NHWC->NCHW output transpose is supported")
            vals[name] = args[0]
        else:
            raise CheckpointError(f"unsupported TensorFlow op {op!r} (node {name!r})")
    if output is None:  # the sink at the deepest pyramid level (LapSRN exports also emit x2, x4 side outputs)
        depth = _d2s_depth(g)
        sinks = [n for n in g.order if g.nodes[n].op != "Const" and not g.consumers.get(n)]
        output = max(sinks, key=lambda n: depth[n])
    return vals[output]


# ----------------------------------------------------------------------------------------------
# Mapping onto the native ports
# ----------------------------------------------------------------------------------------------


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).float()


def _kernel(g: Graph, conv: str, out_perm: list[int] | None = None) -> torch.Tensor:
    w = _t(g.consts[g.inputs(conv)[1]]).permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
    return w[out_perm].contiguous() if out_perm is not None else w


def _bias_after(g: Graph, node: str, channels: int) -> tuple[torch.Tensor | None, str]:
    """The constant added right after ``node`` (broadcast to ``channels``) and the node that adds it."""
    for c in g.consumers.get(node, []):
        if g.nodes[c].op in ("Add", "AddV2", "BiasAdd") and (b := g.const_input(c)) is not None:
            return _t(np.broadcast_to(b.reshape(-1), (channels,)).copy() if b.size == 1 else b.reshape(-1)), c
    return None, node


def _prelu_alpha(g: Graph, node: str) -> tuple[torch.Tensor, str]:
    """Decode ``relu(x) + alpha * (x - |x|) * 0.5`` following ``node``; return alpha and the output node."""
    cons = g.consumer_ops(node)
    if not {"Abs", "Sub", "Relu"} <= cons.keys():
        raise CheckpointError(f"node {node!r}: expected a PReLU pattern (Relu/Abs/Sub) after it")
    mul = next(c for c in g.consumers[cons["Sub"]] if g.nodes[c].op == "Mul")
    alpha = g.const_input(mul)
    half_mul = next(c for c in g.consumers[mul] if g.nodes[c].op == "Mul")
    half = g.const_input(half_mul)
    if alpha is None or half is None or abs(float(half.ravel()[0]) - 0.5) > 1e-6:
        raise CheckpointError(f"node {node!r}: PReLU pattern with unexpected constants")
    out = next(c for c in g.consumers[half_mul] if g.nodes[c].op in ("Add", "AddV2"))
    return _t(alpha.reshape(-1)), out


def _leaky_slope(g: Graph, node: str) -> tuple[float, str]:
    """Decode ``relu(x) - a * relu(-x)`` following ``node``; return ``a`` and the output node."""
    cons = g.consumers.get(node, [])
    neg = next((c for c in cons if g.nodes[c].op == "Mul"), None)
    if neg is None or (m := g.const_input(neg)) is None or float(m.ravel()[0]) != -1.0:
        raise CheckpointError(f"node {node!r}: expected a LeakyReLU pattern (x * -1) after it")
    relu_neg = next(c for c in g.consumers[neg] if g.nodes[c].op == "Relu")
    scaled = next(c for c in g.consumers[relu_neg] if g.nodes[c].op == "Mul")
    slope = float(g.const_input(scaled).ravel()[0])  # type: ignore[union-attr]
    sub = next(c for c in g.consumers[scaled] if g.nodes[c].op == "Sub")
    return slope, sub


def _map_fsrcnn(g: Graph) -> tuple[str, dict[str, Any], int, StateDict]:
    convs = g.ops("Conv2D")
    d2s = g.ops("DepthToSpace")[0]
    scale = g.attr_int(d2s, "block_size")
    state: StateDict = {}
    k = 0
    for conv in convs[:-1]:
        w = _kernel(g, conv)
        b, after = _bias_after(g, conv, w.shape[0])
        if b is None:
            raise CheckpointError(f"FSRCNN conv {conv!r} has no bias")
        alpha, _ = _prelu_alpha(g, after)
        state[f"body.{k}.weight"], state[f"body.{k}.bias"], state[f"body.{k + 1}.weight"] = w, b, alpha
        k += 2
    last = convs[-1]
    perm = depth_to_space_permutation(1, scale)
    w = _kernel(g, last, perm)
    b_conv, _ = _bias_after(g, last, w.shape[0])
    b_conv = b_conv[perm] if b_conv is not None else None
    b_out, _ = _bias_after(g, d2s, 1)  # bias added after DepthToSpace: the same value on every sub-pixel
    bias = torch.zeros(w.shape[0])
    if b_conv is not None:
        bias = bias + b_conv
    if b_out is not None:
        bias = bias + b_out.reshape(-1)[0]
    state["upsample.0.weight"], state["upsample.0.bias"] = w, bias
    shapes = [state[f"body.{i}.weight"].shape for i in range(0, k, 2)]
    d, s = int(shapes[0][0]), int(shapes[1][0])
    cfg = {"d": d, "s": s, "m": len(shapes) - 3, "feature_kernel": int(shapes[0][2]),
           "map_kernel": int(shapes[2][2]) if len(shapes) > 3 else 3, "up_kernel": int(w.shape[2])}
    return "FSRCNN", cfg, scale, state


def _map_espcn(g: Graph) -> tuple[str, dict[str, Any], int, StateDict]:
    convs = g.ops("Conv2D")
    if len(convs) != 3:
        raise CheckpointError(f"ESPCN graph with {len(convs)} convolutions (expected 3)")
    scale = g.attr_int(g.ops("DepthToSpace")[0], "block_size")
    state: StateDict = {}
    for conv, idx in zip(convs, (0, 2, 4), strict=True):
        perm = depth_to_space_permutation(1, scale) if idx == 4 else None
        w = _kernel(g, conv, perm)
        b, _ = _bias_after(g, conv, w.shape[0])
        if b is not None and perm is not None:
            b = b[perm]
        state[f"body.{idx}.weight"] = w
        state[f"body.{idx}.bias"] = b if b is not None else torch.zeros(w.shape[0])
    cfg = {"channels": [int(state["body.0.weight"].shape[0]), int(state["body.2.weight"].shape[0])],
           "kernels": [int(state[f"body.{i}.weight"].shape[2]) for i in (0, 2, 4)]}
    return "ESPCN", cfg, scale, state


def _d2s_depth(g: Graph) -> dict[str, int]:
    """Number of DepthToSpace ops on the longest path from the input to each node (its pyramid level)."""
    depth: dict[str, int] = {}
    for name in g.order:
        ins = [depth.get(i, 0) for i in g.inputs(name) if i not in g.consts]
        depth[name] = max(ins, default=0) + (1 if g.nodes[name].op == "DepthToSpace" else 0)
    return depth


def _map_lapsrn(g: Graph) -> tuple[str, dict[str, Any], int, StateDict]:
    depth = _d2s_depth(g)
    convs = g.ops("Conv2D")
    levels = max(depth[c] for c in convs) + 1
    state: StateDict = {}
    slope = None
    body_counts = []
    level_input = "residual"
    for lv in range(levels):
        lv_convs = [c for c in convs if depth[c] == lv]
        kern = {c: g.consts[g.inputs(c)[1]].shape for c in lv_convs}  # HWIO
        image_up = [c for c in lv_convs if kern[c][0] > 3 and kern[c][2] == 1]
        residual_up = [c for c in lv_convs if kern[c][0] > 3 and kern[c][2] > 1]
        first = [c for c in lv_convs if kern[c][0] <= 3 and kern[c][2] == 1]
        body = [c for c in lv_convs if kern[c][0] <= 3 and kern[c][2] > 1]
        if not (len(image_up) == len(residual_up) == len(first) == 1):
            raise CheckpointError(f"LapSRN level {lv}: unexpected convolution layout")
        perm = depth_to_space_permutation(1, 2)
        state[f"levels.{lv}.image_up.weight"] = _kernel(g, image_up[0], perm)
        state[f"levels.{lv}.residual_up.weight"] = _kernel(g, residual_up[0], perm)
        for name, conv in [("first", first[0])] + [(f"body.{i}", c) for i, c in enumerate(body)]:
            w = _kernel(g, conv)
            b, after = _bias_after(g, conv, w.shape[0])
            state[f"levels.{lv}.{name}.weight"] = w
            state[f"levels.{lv}.{name}.bias"] = b if b is not None else torch.zeros(w.shape[0])
            s, _ = _leaky_slope(g, after)
            if slope is not None and abs(s - slope) > 1e-6:
                raise CheckpointError("LapSRN graph mixes LeakyReLU slopes")
            slope = s
        body_counts.append(len(body))
        if lv > 0:  # does this level's feature branch start from the residual or from the image?
            src = g.data_input(first[0])
            level_input = "image" if g.nodes[g.data_input(g.data_input(src))].op in ("Add", "AddV2") else "residual"
    if len(set(body_counts)) != 1:
        raise CheckpointError("LapSRN levels differ in depth")
    ch = int(state["levels.0.first.weight"].shape[0])
    cfg = {"channels": ch, "depth": body_counts[0], "up_kernel": int(state["levels.0.image_up.weight"].shape[2]),
           "slope": round(float(slope if slope is not None else 0.2), 6), "level_input": level_input}
    return "LapSRN", cfg, 2**levels, state


def map_graph(graph: Any, path: str | Path = "<graph>") -> tuple[str, dict[str, Any], int, StateDict]:
    """Identify the architecture of a checked GraphDef and map its constants onto the native port.

    Raises
    ------
    CheckpointError
        On: "graph has no DepthToSpace upsampling: not a known SR export"; or "GraphDef layout matches none of
        FSRCNN, ESPCN, LapSRN".
    """
    g = graph if isinstance(graph, Graph) else Graph(graph)
    ops = {g.nodes[n].op for n in g.order}
    n_d2s = len(g.ops("DepthToSpace"))
    if n_d2s == 0:
        raise CheckpointError(f"{path}: graph has no DepthToSpace upsampling: not a known SR export")
    if "Tanh" in ops and n_d2s == 1:
        return _map_espcn(g)
    if "Abs" in ops and n_d2s == 1:
        return _map_fsrcnn(g)
    if n_d2s >= 2:
        return _map_lapsrn(g)
    raise CheckpointError(f"{path}: GraphDef layout matches none of FSRCNN, ESPCN, LapSRN")


def _validate(graph: Graph, arch: str, scale: int, cfg: dict[str, Any], state: StateDict, path: Path) -> float:
    net = create_arch(arch, scale, config=cfg).eval()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: mapped weights do not fit {arch} ({str(exc).splitlines()[0]})") from exc
    x = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        err = float((net(x) - run_graphdef(graph, x)).abs().max())
    if not err < 1e-4:
        raise CheckpointError(f"{path}: {arch} port disagrees with the graph (max abs diff {err:.3g})")
    return err


@register_reader(".pb")
def read_tf_graphdef(path: Path) -> ReadResult:
    """Read an OpenCV ``dnn_superres`` ``.pb`` into a native FSRCNN / ESPCN / LapSRN state dict."""
    path = Path(path)
    graph_def = load_graphdef(path)
    check_ops(graph_def, path)
    g = Graph(graph_def)
    arch, cfg, scale, state = map_graph(g, path)
    err = _validate(g, arch, scale, cfg, state, path)
    notes = [
        f"TensorFlow GraphDef mapped onto native {arch} (HWIO->OIHW kernels, DepthToSpace->PixelShuffle)",
        f"port matches direct graph evaluation (max abs diff {err:.1e})",
        "Y channel only (OpenCV dnn_superres convention: full-range BT.601 luma in [0,1])",
    ]
    det = Detection(arch=arch, arch_config=cfg, scale=scale, task="sr", input_range=(0.0, 1.0), grey=True,
                    residual=False, loader="registry", state=state,
                    scale_evidence=f"DepthToSpace block sizes in the graph give x{scale}")
    return ReadResult(state=state, detection=det, framework="tensorflow-graphdef", notes=notes)


def supported_ops() -> Iterable[str]:
    return sorted(SUPPORTED_OPS)
