"""Reader for MatConvNet ``simplenn`` models saved as MATLAB v7.3 ``.mat`` (HDF5): DnCNN and FFDNet.

``net.layers`` is a cell array of object references; each layer struct has ``type`` (conv, relu,
SubP, concat), ``weights`` (filter + bias), ``pad``, ``stride``. MATLAB stores arrays column-major,
so h5py sees a ``[H, W, Cin, Cout]`` filter as ``(Cout, Cin, W, H)`` (trailing singleton dims of
the MATLAB array dropped); torch wants ``(Cout, Cin, H, W)``. FFDNet's ``SubP`` layers (pixel
unshuffle / shuffle by 2) order sub-pixels column-major (channel ``c*4 + a + 2*b`` for row offset
``a``, column offset ``b``) where torch's ``pixel_(un)shuffle`` uses ``c*4 + 2*a + b``; the first
conv's inputs and the last conv's outputs are permuted accordingly.

Denoiser conventions: inputs in ``[0, 1]``; DnCNN predicts the noise (``residual=True``); FFDNet
predicts the clean image and gets its noise level from ``sigma`` in the entry's config (default 25).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import CheckpointError
from ..archs import create_arch
from ..detection import Detection, ReadResult, StateDict, register_reader

FFDNET_DEFAULT_SIGMA = 25.0


def _mat_string(ds: Any) -> str:
    return "".join(chr(int(c)) for c in np.asarray(ds).ravel())


def _layers(f: Any, path: Path) -> list[dict[str, Any]]:
    """Decode ``net.layers`` into ``[{'type', 'name', 'weights': [arrays], 'pad', 'stride', 'scale'}]``."""
    try:
        refs = np.asarray(f["net"]["layers"]).ravel()
    except KeyError as exc:
        raise CheckpointError(f"{path}: no net.layers: not a MatConvNet simplenn model") from exc
    out = []
    for ref in refs:
        layer = f[ref]
        rec: dict[str, Any] = {"type": _mat_string(layer["type"]) if "type" in layer else "?",
                               "name": _mat_string(layer["name"]) if "name" in layer else "?"}
        weights = []
        if "weights" in layer and layer["weights"].dtype == object:
            for wref in np.asarray(layer["weights"]).ravel():
                weights.append(np.asarray(f[wref], dtype=np.float32))
        rec["weights"] = weights
        for key in ("pad", "stride", "scale", "dilate", "leak"):
            if key in layer:
                rec[key] = np.asarray(layer[key], dtype=np.float64).ravel().tolist()
        out.append(rec)
    return out


def _torch_filter(w: np.ndarray, b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """h5py view of a MATLAB ``[H, W, Cin, Cout]`` filter -> torch ``(Cout, Cin, H, W)``."""
    bias = b.ravel()
    cout = bias.size
    k = w.shape[-1]
    cin = w.size // (cout * k * k)
    arr = w.reshape(cout, cin, w.shape[-2], k).transpose(0, 1, 3, 2)
    return torch.from_numpy(np.ascontiguousarray(arr)), torch.from_numpy(bias.copy())


def subp_permutation(colours: int, extra: int = 0) -> list[int]:
    """Channel index ``p``: torch pixel-(un)shuffle channel ``t`` holds MatConvNet SubP channel ``p[t]``."""
    perm = []
    for t in range(colours * 4):
        c, k = divmod(t, 4)
        a, b = divmod(k, 2)
        perm.append(c * 4 + a + 2 * b)
    return perm + list(range(colours * 4, colours * 4 + extra))


def _check_plain(layers: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """Validate an alternating conv/relu stack (3x3, pad 1, stride 1); return the conv layers."""
    convs = []
    for i, layer in enumerate(layers):
        kind = layer["type"]
        want = "conv" if i % 2 == 0 else "relu"
        if kind not in ("conv", "relu"):
            raise CheckpointError(f"{path}: unsupported MatConvNet layer type {kind!r} ({layer['name']})")
        if kind != want:
            raise CheckpointError(f"{path}: layer {layer['name']} is {kind!r}, expected {want!r} (conv/relu stack)")
        if kind == "relu" and layer.get("leak", [0.0])[0] != 0.0:
            raise CheckpointError(f"{path}: leaky ReLU in {layer['name']} is not supported")
        if kind == "conv":
            if layer.get("stride", [1])[0] != 1 or layer.get("pad", [1])[0] != 1 or layer.get("dilate", [1])[0] != 1:
                raise CheckpointError(f"{path}: conv {layer['name']} is not 3x3/pad 1/stride 1")
            if len(layer["weights"]) != 2:
                raise CheckpointError(f"{path}: conv {layer['name']} lacks filter/bias weights")
            convs.append(layer)
    if not layers or layers[-1]["type"] != "conv":
        raise CheckpointError(f"{path}: network does not end in a conv layer")
    return convs


def _conv_state(convs: list[dict[str, Any]]) -> StateDict:
    state: StateDict = {}
    for i, layer in enumerate(convs):
        w, b = _torch_filter(*layer["weights"])
        state[f"body.{2 * i}.weight"], state[f"body.{2 * i}.bias"] = w, b
    return state


def read_matconvnet_layers(layers: list[dict[str, Any]], path: Path) -> Detection:
    types = [layer["type"] for layer in layers]
    if types and types[0] == "SubP":  # FFDNet: SubP(1/2), concat(noise map), conv/relu..., SubP(2)
        if len(types) < 4 or types[1] != "concat" or types[-1] != "SubP":
            raise CheckpointError(f"{path}: SubP network is not an FFDNet layout ({', '.join(types[:4])}, ...)")
        if layers[0].get("scale", [0.5])[0] != 0.5 or layers[-1].get("scale", [2])[0] != 2:
            raise CheckpointError(f"{path}: FFDNet SubP scales other than 1/2 and 2 are not supported")
        convs = _check_plain(layers[2:-1], path)
        state = _conv_state(convs)
        cin = int(state["body.0.weight"].shape[1])
        colours = (cin - 1) // 4
        if colours * 4 + 1 != cin or int(state[f"body.{2 * (len(convs) - 1)}.weight"].shape[0]) != colours * 4:
            raise CheckpointError(f"{path}: FFDNet conv channels ({cin} in) do not match 4*colours+1")
        p_in = subp_permutation(colours, extra=1)
        p_out = subp_permutation(colours)
        last = f"body.{2 * (len(convs) - 1)}"
        state["body.0.weight"] = state["body.0.weight"][:, p_in].contiguous()
        state[f"{last}.weight"] = state[f"{last}.weight"][p_out].contiguous()
        state[f"{last}.bias"] = state[f"{last}.bias"][p_out].contiguous()
        cfg = {"colours": colours, "features": int(state["body.0.weight"].shape[0]), "depth": len(convs),
               "sigma": FFDNET_DEFAULT_SIGMA}
        notes = [f"FFDNet noise level fixed at sigma={FFDNET_DEFAULT_SIGMA:g}/255 (arch_config['sigma'])",
                 "SubP sub-pixel order permuted to torch pixel_(un)shuffle order"]
        return Detection(arch="FFDNet", arch_config=cfg, scale=1, task="denoise", input_range=(0.0, 1.0),
                         grey=colours == 1, residual=False, loader="registry", state=state, notes=notes,
                         scale_evidence="denoiser: output size equals input size (x1)")
    convs = _check_plain(layers, path)
    state = _conv_state(convs)
    colours = int(state["body.0.weight"].shape[1])
    if colours not in (1, 3) or int(state[f"body.{2 * (len(convs) - 1)}.weight"].shape[0]) != colours:
        raise CheckpointError(f"{path}: DnCNN-like stack with {colours} input channels is not supported")
    cfg = {"colours": colours, "features": int(state["body.0.weight"].shape[0]), "depth": len(convs)}
    notes = ["DnCNN predicts the noise: clean = input - output (residual=True)"]
    return Detection(arch="DnCNN-MCN", arch_config=cfg, scale=1, task="denoise", input_range=(0.0, 1.0),
                     grey=colours == 1, residual=True, loader="registry", state=state, notes=notes,
                         scale_evidence="denoiser: output size equals input size (x1)")


@register_reader(".mat")
def read_matconvnet(path: Path) -> ReadResult:
    """Read a MatConvNet v7.3 ``.mat`` DnCNN / FFDNet into a native state dict.

    Raises
    ------
    CheckpointError
        On: "is a directory, expected a .mat file"; or "not a MATLAB v7.3 (HDF5) file; older .mat versions are
        not supported (…)".
    """
    import h5py

    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, expected a .mat file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(
            f"{path}: not a MATLAB v7.3 (HDF5) file; older .mat versions are not supported ({exc})"
        ) from exc
    with f:
        det = read_matconvnet_layers(_layers(f, path), path)
    assert det.state is not None
    net = create_arch(det.arch, 1, config=det.arch_config)
    try:
        net.load_state_dict(det.state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: mapped weights do not fit {det.arch} ({str(exc).splitlines()[0]})") from exc
    notes = [f"MatConvNet simplenn mapped onto native {det.arch} (MATLAB column-major filters transposed)"]
    return ReadResult(state=det.state, detection=det, framework="matconvnet-v7.3", notes=notes)
