"""Non-PyTorch readers: TensorFlow .pb (no TensorFlow), Keras .h5 and MatConvNet v7.3 .mat (h5py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import srprint.zoo.imports  # noqa: F401  (registers readers and ports)
from srprint.degradation import to_numpy, to_tensor
from srprint.errors import CheckpointError
from srprint.zoo.archs import create_arch
from srprint.zoo.imports import import_file
from srprint.zoo.imports.detection import READERS, ReadResult
from srprint.zoo.imports.readers_keras import read_keras_h5
from srprint.zoo.imports.readers_matconvnet import read_matconvnet, subp_permutation
from srprint.zoo.imports.readers_tf import (
    depth_to_space_permutation,
    load_graphdef,
    read_tf_graphdef,
    run_graphdef,
    tf_depth_to_space,
)
from srprint.zoo.model import SRModel
from srprint.zoo.quality import evaluate_sr, psnr_rgb


def _model(rr: ReadResult) -> SRModel:
    d = rr.detection
    assert d is not None
    net = create_arch(d.arch, d.scale, config=d.arch_config)
    net.load_state_dict(rr.state, strict=True)
    return SRModel(net, d.scale, d.task, d.input_range, d.grey, d.residual).eval()


# ------------------------------------------------------------------ DepthToSpace layout (no data needed)


def test_tf_depth_to_space_matches_hand_computed_example() -> None:
    # 2 output colours, block 2, one input pixel holding channels 0..7. TF reads channel (i*2 + j)*2 + c.
    x = torch.arange(8.0).view(1, 8, 1, 1)
    expected = torch.tensor([[[0.0, 2.0], [4.0, 6.0]], [[1.0, 3.0], [5.0, 7.0]]])
    assert torch.equal(tf_depth_to_space(x, 2)[0], expected)
    # torch's pixel_shuffle reads c*4 + i*2 + j: a different layout ...
    assert not torch.equal(F.pixel_shuffle(x, 2)[0], expected)
    # ... which the permutation applied to the preceding conv's output channels reconciles
    perm = depth_to_space_permutation(2, 2)
    assert perm == [0, 2, 4, 6, 1, 3, 5, 7]
    assert torch.equal(F.pixel_shuffle(x[:, perm], 2)[0], expected)


def test_depth_to_space_permutation_on_random_tensor() -> None:
    x = torch.randn(2, 3 * 9, 4, 5, generator=torch.Generator().manual_seed(0))
    perm = depth_to_space_permutation(3, 3)
    assert torch.equal(F.pixel_shuffle(x[:, perm], 3), tf_depth_to_space(x, 3))
    # with a single output channel the two orders agree (all OpenCV dnn_superres models)
    assert depth_to_space_permutation(1, 4) == list(range(16))


def test_matconvnet_subp_permutation_swaps_row_and_column_offsets() -> None:
    # MatConvNet SubP channel c*4 + a + 2b  <->  torch pixel_unshuffle channel c*4 + 2a + b
    assert subp_permutation(1) == [0, 2, 1, 3]
    assert subp_permutation(2, extra=1) == [0, 2, 1, 3, 4, 6, 5, 7, 8]


# ------------------------------------------------------------------ crafted GraphDefs


def _graph(nodes: list[tuple[str, str, list[str]]], consts: dict[str, np.ndarray]) -> bytes:
    from tensorboard.compat.proto import graph_pb2

    g = graph_pb2.GraphDef()
    for name, value in consts.items():
        n = g.node.add(name=name, op="Const")
        t = n.attr["value"].tensor
        t.dtype = 1
        for s in value.shape:
            t.tensor_shape.dim.add(size=s)
        t.tensor_content = value.astype(np.float32).tobytes()
    g.node.add(name="IteratorGetNext", op="Placeholder")
    for name, op, inputs in nodes:
        n = g.node.add(name=name, op=op, input=inputs)
        if op == "Conv2D":
            n.attr["padding"].s = b"SAME"
            n.attr["strides"].list.i.extend([1, 1, 1, 1])
        if op == "DepthToSpace":
            n.attr["block_size"].i = 2
    return g.SerializeToString()


def _espcn_like_graph(extra_op: str | None = None) -> bytes:
    rng = np.random.default_rng(0)
    consts = {"f1": rng.normal(0, 0.3, (5, 5, 1, 8)), "b1": rng.normal(0, 0.1, (8,)),
              "f2": rng.normal(0, 0.3, (3, 3, 8, 4)), "b2": rng.normal(0, 0.1, (4,)),
              "f3": rng.normal(0, 0.3, (3, 3, 4, 4)), "b3": rng.normal(0, 0.1, (4,))}
    nodes = [("conv1", "Conv2D", ["IteratorGetNext", "f1"]), ("add", "Add", ["conv1", "b1"]),
             ("Relu", "Relu", ["add"]),
             ("conv2", "Conv2D", ["Relu", "f2"]), ("add_1", "Add", ["conv2", "b2"]), ("Relu_1", "Relu", ["add_1"]),
             ("conv3", "Conv2D", ["Relu_1", "f3"]), ("add_2", "Add", ["conv3", "b3"]),
             ("DepthToSpace", "DepthToSpace", ["add_2"]), ("out", "Tanh", ["DepthToSpace"])]
    if extra_op:
        nodes.append(("weird", extra_op, ["out"]))
    return _graph(nodes, consts)


def test_crafted_graph_maps_to_native_espcn(tmp_path: Path) -> None:
    p = tmp_path / "tiny.pb"
    p.write_bytes(_espcn_like_graph())
    rr = READERS[".pb"](p)
    assert rr.detection is not None and rr.detection.arch == "ESPCN"
    assert rr.detection.scale == 2 and rr.detection.grey and rr.detection.arch_config["channels"] == [8, 4]
    net = create_arch("ESPCN", 2, config=rr.detection.arch_config).eval()
    net.load_state_dict(rr.state)
    x = torch.rand(1, 1, 9, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(net(x), run_graphdef(load_graphdef(p), x), atol=1e-5, rtol=1e-5)


def test_pb_with_unsupported_op_is_refused_naming_it(tmp_path: Path) -> None:
    p = tmp_path / "maxpool.pb"
    p.write_bytes(_espcn_like_graph(extra_op="MaxPool"))
    with pytest.raises(CheckpointError, match=r"unsupported TensorFlow op 'MaxPool' \(node 'weird'\)"):
        read_tf_graphdef(p)


def test_truncated_or_foreign_pb_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "cut.pb"
    p.write_bytes(_espcn_like_graph()[:301])
    with pytest.raises(CheckpointError, match="cut.pb"):
        read_tf_graphdef(p)
    q = tmp_path / "text.pb"
    q.write_bytes(b"this is not a graph")
    with pytest.raises(CheckpointError, match="text.pb"):
        read_tf_graphdef(q)
    with pytest.raises(CheckpointError, match="directory"):
        read_tf_graphdef(tmp_path)


def test_non_hdf5_mat_and_non_keras_h5_are_refused(tmp_path: Path) -> None:
    import h5py

    mat = tmp_path / "old.mat"
    mat.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(CheckpointError, match="not a MATLAB v7.3"):
        read_matconvnet(mat)
    h5 = tmp_path / "data.h5"
    with h5py.File(h5, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(CheckpointError, match="not a full Keras model"):
        read_keras_h5(h5)


# ------------------------------------------------------------------ the shared third-party files

PB_SR = ["fsrcnn_opencv/FSRCNN_x2.pb", "fsrcnn-small_opencv/FSRCNN-small_x2.pb", "espcn_opencv/ESPCN_x2.pb"]


@pytest.mark.shared
@pytest.mark.parametrize("rel", PB_SR)
def test_pb_models_beat_bicubic(rel: str, pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_tf_graphdef(pretrained_dir / rel)
    assert rr.detection is not None and rr.detection.grey and rr.detection.scale == 2
    res = evaluate_sr(_model(rr), [set5_crop])
    assert res["psnr"] > res["bicubic_psnr"] + 0.8, res


@pytest.mark.shared
def test_pb_port_equals_graph_evaluation(pretrained_dir: Path) -> None:
    p = pretrained_dir / "fsrcnn_opencv" / "FSRCNN_x3.pb"
    rr = read_tf_graphdef(p)
    d = rr.detection
    assert d is not None and (d.arch, d.scale) == ("FSRCNN", 3)
    assert d.arch_config == {"d": 56, "s": 12, "m": 4, "feature_kernel": 5, "map_kernel": 3, "up_kernel": 1}
    net = create_arch(d.arch, 3, config=d.arch_config).eval()
    net.load_state_dict(rr.state)
    x = torch.rand(1, 1, 10, 13, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(net(x), run_graphdef(load_graphdef(p), x), atol=1e-5, rtol=1e-5)


@pytest.mark.shared
def test_lapsrn_x4_two_pyramid_levels(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_tf_graphdef(pretrained_dir / "lapsrn_opencv" / "LapSRN_x4.pb")
    d = rr.detection
    assert d is not None and (d.arch, d.scale) == ("LapSRN", 4)
    assert d.arch_config["level_input"] == "residual" and d.arch_config["slope"] == pytest.approx(0.2)
    assert sum(1 for k in rr.state if k.endswith("image_up.weight")) == 2
    res = evaluate_sr(_model(rr), [set5_crop])
    assert res["psnr"] > res["bicubic_psnr"] + 0.3, res


@pytest.mark.shared
def test_keras_fast_srgan_generator(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_keras_h5(pretrained_dir / "fast-srgan_keras" / "generator.h5")
    d = rr.detection
    assert d is not None and (d.arch, d.scale) == ("FastSRGAN-Keras", 4)
    assert d.arch_config == {"filters": 32, "n_blocks": 6, "expansion": 6, "eps": 0.001}
    res = evaluate_sr(_model(rr), [set5_crop])
    # a GAN generator: close to bicubic in PSNR (slightly below on this crop), far from garbage
    assert res["psnr"] > res["bicubic_psnr"] - 1.0, res
    # without the TF->torch DepthToSpace channel permutation the output is ruined
    bad = dict(rr.state)
    inv = list(np.argsort(depth_to_space_permutation(32, 2)))
    for s in range(2):
        bad[f"upsample.{s}.0.weight"] = rr.state[f"upsample.{s}.0.weight"][inv]
        bad[f"upsample.{s}.0.bias"] = rr.state[f"upsample.{s}.0.bias"][inv]
    res_bad = evaluate_sr(_model(ReadResult(state=bad, detection=d)), [set5_crop])
    assert res_bad["psnr"] < res["psnr"] - 5.0


def _noisy(img: np.ndarray, sigma: float, grey: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    x = to_tensor(img)[None]
    if grey:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True).repeat(1, 3, 1, 1)
        noise = torch.randn(1, 1, *x.shape[2:], generator=torch.Generator().manual_seed(0)).repeat(1, 3, 1, 1)
    else:
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    return x, x + noise * sigma / 255.0


@pytest.mark.shared
@pytest.mark.parametrize(("rel", "arch", "grey", "residual"), [
    ("cdncnn-b_matconvnet/GD_Color_Blind.mat", "DnCNN-MCN", False, True),
    ("dncnn3_matconvnet/DnCNN3.mat", "DnCNN-MCN", True, True),
    ("ffdnet-color_matconvnet/FFDNet_color.mat", "FFDNet", False, False),
])
def test_matconvnet_denoisers_beat_noisy_input(rel: str, arch: str, grey: bool, residual: bool,
                                               pretrained_dir: Path, set5_crop: tuple[str, np.ndarray]) -> None:
    rr = read_matconvnet(pretrained_dir / rel)
    d = rr.detection
    assert d is not None and (d.arch, d.task, d.scale, d.grey, d.residual) == (arch, "denoise", 1, grey, residual)
    clean, noisy = _noisy(set5_crop[1][:96, :96], 25.0, grey=grey)
    out = _model(rr).infer(noisy)
    gain = psnr_rgb(to_numpy(out[0]), to_numpy(clean[0])) - psnr_rgb(to_numpy(noisy[0].clamp(0, 1)),
                                                                       to_numpy(clean[0]))
    assert gain > 7.0, gain


@pytest.mark.shared
def test_ffdnet_sigma_option_reaches_the_network(pretrained_dir: Path, set5_crop: tuple[str, np.ndarray],
                                                 tmp_path: Path) -> None:
    """``--sigma`` sets FFDNet's noise-level map (arch_config), not only the label: it denoises at that level."""
    import json

    from typer.testing import CliRunner

    from srprint.cli import app
    from srprint.zoo.entry import Zoo, ZooEntry
    from srprint.zoo.model import load_model

    path = pretrained_dir / "ffdnet-color_matconvnet" / "FFDNet_color.mat"
    res = CliRunner().invoke(app, ["zoo", "import", str(path), "--zoo", str(tmp_path / "zoo"), "--name", "ff50",
                                   "--task", "denoise", "--sigma", "50", "--json"])
    assert res.exit_code == 0, res.output
    entry = Zoo(tmp_path / "zoo").get(json.loads(res.output)["entries"][0]["id"])
    assert entry.arch_config["sigma"] == 50.0 and entry.labels["sigma"] == 50
    assert load_model(entry).net.sigma == 50.0
    default = import_file(path, tmp_path / "zoo", name="ff", task="denoise")[0]
    assert default.arch_config["sigma"] == 25.0 and default.labels["sigma"] == 25
    clean, noisy = _noisy(set5_crop[1][:96, :96], 50.0)

    def gain(e: ZooEntry) -> float:
        out = load_model(e).infer(noisy)
        return psnr_rgb(to_numpy(out[0]), to_numpy(clean[0])) - psnr_rgb(to_numpy(noisy[0]), to_numpy(clean[0]))

    assert gain(entry) > gain(default) + 0.5
