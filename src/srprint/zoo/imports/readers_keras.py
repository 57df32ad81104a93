"""Reader for Keras HDF5 models (``.h5``): the original Fast-SRGAN MobileNetV2 generator.

Reads the ``model_config`` JSON (layer graph) and ``model_weights`` groups with ``h5py`` (no
TensorFlow/Keras), checks the layer sequence is the Fast-SRGAN generator, and maps the weights onto
:mod:`srprint.zoo.families.fastsrgan_keras.network`: ``HWIO`` kernels -> ``OIHW``, depthwise
``(3, 3, C, 1)`` -> ``(C, 1, 3, 3)``, PReLU ``alpha (1, 1, C)`` -> ``(C,)``, BatchNorm
gamma/beta/moving stats -> weight/bias/running stats, and the conv before each ``DepthToSpace`` is
permuted from TensorFlow's channel order to ``pixel_shuffle``'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import CheckpointError
from ..archs import create_arch
from ..detection import Detection, ReadResult, StateDict, register_reader
from .readers_tf import depth_to_space_permutation

_ARCH = "FastSRGAN-Keras"


def _open_h5(path: Path) -> Any:
    import h5py

    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, expected a .h5 file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(f"{path}: not a readable HDF5 file ({exc})") from exc


def _layer_weights(group: Any, layer: str) -> dict[str, np.ndarray]:
    """``{short_name: array}`` of one Keras layer (``kernel``, ``bias``, ``gamma``, ``alpha``, ...)."""
    g = group[layer]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs.get("weight_names", [])]
    return {n.split("/")[-1].split(":")[0]: np.asarray(g[n]) for n in names}


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).float()


def _conv(w: dict[str, np.ndarray], depthwise: bool = False, out_perm: list[int] | None = None
          ) -> tuple[torch.Tensor, torch.Tensor]:
    # depthwise (kh, kw, C, 1) -> (C, 1, kh, kw); regular HWIO -> OIHW
    k = _t(w["depthwise_kernel"]).permute(2, 3, 0, 1) if depthwise else _t(w["kernel"]).permute(3, 2, 0, 1)
    b = _t(w["bias"]) if "bias" in w else torch.zeros(k.shape[0])
    if out_perm is not None:
        k, b = k[out_perm], b[out_perm]
    return k.contiguous(), b.contiguous()


def _bn(w: dict[str, np.ndarray], prefix: str, state: StateDict) -> None:
    state[f"{prefix}.weight"] = _t(w["gamma"])
    state[f"{prefix}.bias"] = _t(w["beta"])
    state[f"{prefix}.running_mean"] = _t(w["moving_mean"])
    state[f"{prefix}.running_var"] = _t(w["moving_variance"])
    state[f"{prefix}.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)


def read_fastsrgan_h5(path: Path, f: Any) -> tuple[dict[str, Any], int, StateDict]:
    if "model_config" not in f.attrs or "model_weights" not in f:
        raise CheckpointError(f"{path}: not a full Keras model file (no model_config/model_weights)")
    cfg = json.loads(f.attrs["model_config"])
    layers = cfg.get("config", {}).get("layers", [])
    kinds = [(lay["class_name"], lay["config"].get("name", lay.get("name", ""))) for lay in layers]
    known = {"InputLayer", "Conv2D", "BatchNormalization", "PReLU", "DepthwiseConv2D", "Activation", "Add",
             "TensorFlowOpLayer"}
    for cls, name in kinds:
        if cls not in known:
            raise CheckpointError(f"{path}: unsupported Keras layer {cls!r} ({name!r})")
    for lay in layers:
        if lay["class_name"] == "TensorFlowOpLayer" and lay["config"]["node_def"]["op"] != "DepthToSpace":
            op = lay["config"]["node_def"]["op"]
            raise CheckpointError(f"{path}: unsupported TensorFlow op {op!r} in Keras model")
        if lay["class_name"] == "Activation" and lay["config"]["activation"] != "relu":
            raise CheckpointError(f"{path}: unsupported Keras activation {lay['config']['activation']!r}")
    convs = [n for c, n in kinds if c == "Conv2D"]
    dws = [n for c, n in kinds if c == "DepthwiseConv2D"]
    bns = [n for c, n in kinds if c == "BatchNormalization"]
    prelus = [n for c, n in kinds if c == "PReLU"]
    d2s = [lay for lay in layers if lay["class_name"] == "TensorFlowOpLayer"]
    n_blocks = len(dws)
    stages = len(d2s)
    # conv order: head, [first-block project], [expand, project] * (n-1), trunk, up * stages, tail
    if n_blocks < 1 or len(convs) != 2 * n_blocks + 2 + stages or len(prelus) != stages + 1:
        raise CheckpointError(f"{path}: Keras layer sequence is not a Fast-SRGAN MobileNetV2 generator")
    eps = {round(float(lay["config"].get("epsilon", 1e-3)), 8)
           for lay in layers if lay["class_name"] == "BatchNormalization"}
    if len(eps) != 1:
        raise CheckpointError(f"{path}: BatchNorm layers with different epsilons {sorted(eps)}")
    blocks = [int(block["config"]["node_def"]["attr"]["block_size"]["i"]) for block in d2s]
    if any(b != 2 for b in blocks):
        raise CheckpointError(f"{path}: DepthToSpace block sizes {blocks} (only 2 supported)")

    mw = f["model_weights"]
    W = {n: _layer_weights(mw, n) for n in convs + dws + bns + prelus}
    filters = int(W[convs[0]]["kernel"].shape[-1])
    state: StateDict = {}
    state["head.weight"], state["head.bias"] = _conv(W[convs[0]])
    _bn(W[bns[0]], "head_bn", state)
    state["head_act.weight"] = _t(W[prelus[0]]["alpha"]).reshape(-1)
    conv_i, bn_i = 1, 1
    expansion = 1
    for b in range(n_blocks):
        p = f"blocks.{b}"
        if b > 0:
            state[f"{p}.expand.weight"], state[f"{p}.expand.bias"] = _conv(W[convs[conv_i]])
            expansion = int(state[f"{p}.expand.weight"].shape[0]) // filters
            _bn(W[bns[bn_i]], f"{p}.expand_bn", state)
            conv_i, bn_i = conv_i + 1, bn_i + 1
        state[f"{p}.depthwise.weight"], state[f"{p}.depthwise.bias"] = _conv(W[dws[b]], depthwise=True)
        _bn(W[bns[bn_i]], f"{p}.depthwise_bn", state)
        state[f"{p}.project.weight"], state[f"{p}.project.bias"] = _conv(W[convs[conv_i]])
        _bn(W[bns[bn_i + 1]], f"{p}.project_bn", state)
        conv_i, bn_i = conv_i + 1, bn_i + 2
    state["trunk.weight"], state["trunk.bias"] = _conv(W[convs[conv_i]])
    _bn(W[bns[bn_i]], "trunk_bn", state)
    conv_i += 1
    perm = depth_to_space_permutation(filters, 2)
    for s in range(stages):
        state[f"upsample.{s}.0.weight"], state[f"upsample.{s}.0.bias"] = _conv(W[convs[conv_i]], out_perm=perm)
        state[f"upsample.{s}.2.weight"] = _t(W[prelus[s + 1]]["alpha"]).reshape(-1)
        conv_i += 1
    state["tail.weight"], state["tail.bias"] = _conv(W[convs[conv_i]])
    config = {"filters": filters, "n_blocks": n_blocks, "expansion": expansion, "eps": eps.pop()}
    return config, 2**stages, state


@register_reader(".h5", ".hdf5", ".keras")
def read_keras_h5(path: Path) -> ReadResult:
    """Read a Keras HDF5 Fast-SRGAN generator into a native ``FastSRGAN-Keras`` state dict.

    Raises
    ------
    CheckpointError
        On: "mapped weights do not fit … (…)".
    """
    path = Path(path)
    with _open_h5(path) as f:
        config, scale, state = read_fastsrgan_h5(path, f)
    net = create_arch(_ARCH, scale, config=config)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: mapped weights do not fit {_ARCH} ({str(exc).splitlines()[0]})") from exc
    notes = ["Keras HDF5 mapped onto native FastSRGAN-Keras (HWIO->OIHW, DepthToSpace->PixelShuffle order)",
             "input in [0, 1], network output in [-1, 1] mapped to [0, 1] inside the port (checked by PSNR)"]
    det = Detection(arch=_ARCH, arch_config=config, scale=scale, task="sr", input_range=(0.0, 1.0),
                    loader="registry", state=state,
                    scale_evidence=f"{int(round(scale).bit_length() - 1)} DepthToSpace(2) layers give x{scale}")
    return ReadResult(state=state, detection=det, framework="keras-h5", notes=notes)
