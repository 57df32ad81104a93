"""Non-PyTorch readers: TensorFlow .pb (no TensorFlow), Keras .h5 and MatConvNet v7.3 .mat (h5py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import srprint.zoo.imports  # noqa: F401  (registers readers and ports)
from srprint.errors import CheckpointError
from srprint.zoo.archs import create_arch
from srprint.zoo.detection import READERS
from srprint.zoo.imports.readers_keras import read_keras_h5
from srprint.zoo.imports.readers_matconvnet import read_matconvnet, subp_permutation
from srprint.zoo.imports.readers_tf import (
    depth_to_space_permutation,
    load_graphdef,
    read_tf_graphdef,
    run_graphdef,
    tf_depth_to_space,
)

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
