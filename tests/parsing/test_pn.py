"""Parsing-network heads and losses: weighted CE, hierarchical probabilities, random ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from srprint.errors import SrprintError
from srprint.parsing import metrics as M
from srprint.parsing.fenpn_eval import model_folds
from srprint.parsing.fenpn_train import FenPn, fingerprint_spectrum
from srprint.parsing.pn import (
    FenPnConfig,
    ParsingLoss,
    ParsingNetwork,
    class_weights,
    hierarchical_probs,
    shuffle_labels,
)
from srprint.parsing.schema import HyperparamSchema, Target


def test_class_weights_are_n_over_n_c() -> None:
    labels = np.array([0, 0, 0, 1, 2, 2])
    w = class_weights(labels, 4)
    np.testing.assert_allclose(w.numpy(), [6 / 3, 6 / 1, 6 / 2, 0.0])


def test_hierarchical_probabilities_multiply() -> None:
    coarse_logits = torch.tensor([[0.3, -0.2]])
    fine_logits = torch.tensor([[1.0, 0.5, -1.0]])
    groups = [[0], [1, 2]]
    coarse, fine = hierarchical_probs(coarse_logits, fine_logits, groups)
    pc = torch.softmax(coarse_logits, 1)[0]
    within = torch.softmax(fine_logits[0, [1, 2]], 0)
    torch.testing.assert_close(fine[0, 0], pc[0])  # single-member group: p(fine) = p(coarse)
    torch.testing.assert_close(fine[0, 1:], pc[1] * within)
    assert fine.sum().item() == pytest.approx(1.0)
    # multi-label: sigmoid(coarse) * sigmoid(fine)
    c2, f2 = hierarchical_probs(coarse_logits, fine_logits, groups, multilabel=True)
    torch.testing.assert_close(f2[0, 2], torch.sigmoid(coarse_logits[0, 1]) * torch.sigmoid(fine_logits[0, 2]))


def _schema() -> tuple[HyperparamSchema, pd.DataFrame]:
    table = pd.DataFrame(
        {
            "model_id": list("abcdef"),
            "n_conv": [1, 2, 3, 4, 5, 6],
            "scale": [2, 4, 2, 4, 2, 4],
            "loss": ["L1", "VGG+Adv", "L1", "ResNet+Adv", "L1", "VGG+Adv"],
            "arch": ["E", "E", "R", "R", "S", "S"],
        }
    )
    schema = HyperparamSchema(
        [
            Target("n_conv", "continuous"),
            Target("scale", "discrete"),
            Target(
                "loss",
                "discrete",
                classes=["L1", "VGG+Adv", "ResNet+Adv"],
                hierarchy={"pixel": ["L1"], "adversarial": ["VGG+Adv", "ResNet+Adv"]},
            ),
        ]
    ).fit(table)
    return schema, table


def test_parsing_network_outputs_and_loss_backpropagate() -> None:
    schema, table = _schema()
    torch.manual_seed(0)
    net = ParsingNetwork(schema, width=4, feat_dim=16, n_models=3)
    out = net(torch.rand(5, 3, 32, 32))
    assert out["features"].shape == (5, 16)
    assert out["continuous"].shape == (5, 1)
    assert out["discrete"]["loss"].shape == (5, 3) and out["coarse"]["loss"].shape == (5, 2)
    torch.testing.assert_close(out["discrete"]["loss"].sum(1), torch.ones(5))
    torch.testing.assert_close(out["discrete"]["loss"][:, 0], out["coarse"]["loss"][:, 0])
    enc = schema.encode(table.iloc[:5])
    batch = {
        "continuous": torch.tensor(enc.continuous),
        "d:scale": torch.tensor(enc.discrete["scale"]),
        "d:loss": torch.tensor(enc.discrete["loss"]),
        "c:loss": torch.tensor(enc.coarse["loss"]),
    }
    crit = ParsingLoss(schema, {"scale": class_weights(enc.discrete["scale"], 2)})
    parts = crit(out, batch)
    assert parts["total"].item() == pytest.approx(
        5 * parts["regression"].item() + 5 * parts["discrete"].item() + 5 * parts["hierarchical"].item(), rel=1e-5
    )
    parts["total"].backward()
    assert net.encoder[0][0].weight.grad is not None


def test_random_ground_truth_keeps_label_distributions() -> None:
    _, table = _schema()
    train = ["a", "b", "c", "d", "e"]
    for seed in range(3):
        shuffled = shuffle_labels(table, train, seed)
        assert list(shuffled["model_id"]) == list(table["model_id"])
        for col in ("n_conv", "scale", "loss", "arch"):
            before = sorted(table.loc[table.model_id.isin(train), col].tolist())
            after = sorted(shuffled.loc[shuffled.model_id.isin(train), col].tolist())
            assert before == after
        # the model outside the training set keeps its own labels
        assert shuffled.loc[5].tolist() == table.loc[5].tolist()
    assert any((shuffle_labels(table, train, s)["loss"] != table["loss"]).any() for s in range(3))


def test_leave_models_out_folds_cover_every_model_once() -> None:
    _, table = _schema()
    folds = model_folds(table, 3)
    flat = sorted(m for f in folds for m in f)
    assert flat == sorted(table["model_id"]) and all(folds)


def test_metrics_and_aggregation() -> None:
    assert M.l1_error(np.array([0.1, 0.5]), np.array([0.0, 1.0])) == pytest.approx(0.3)
    assert M.macro_f1([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    assert M.macro_f1([0, 0, 1, 1], [0, 0, 0, 0]) == pytest.approx((2 / 3 + 0) / 2)
    groups = np.array(["a"] * 25 + ["b"] * 5)
    chunks = M.chunk_indices(groups, 10)
    assert [len(c) for c in chunks] == [10, 10, 5]  # 'a' gives two full chunks, 'b' one short chunk
    votes = M.aggregate_discrete(np.array([1] * 12 + [0] * 13 + [2] * 5), chunks)
    assert votes[-1] == 2
    cont = M.aggregate_continuous(np.arange(30, dtype=float)[:, None], [np.arange(10)])
    assert cont[0, 0] == pytest.approx(4.5)
    assert M.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_log_spectrum_is_centred_standardised_and_peaks_at_the_pattern() -> None:
    # a pure horizontal cosine of period 4 px: its spectrum peaks at +-N/4 around the centre column
    n = 16
    x = torch.cos(2 * torch.pi * torch.arange(n) / 4).expand(2, 3, n, n).clone()
    x[1] = torch.randn(3, n, n, generator=torch.Generator().manual_seed(0))
    s = fingerprint_spectrum(x)
    assert s.shape == x.shape
    assert torch.allclose(s.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-5)
    assert torch.allclose(s.std(dim=(1, 2, 3)), torch.ones(2), atol=1e-4)
    row = s[0, 0, n // 2]  # zero vertical frequency
    assert sorted(torch.topk(row, 2).indices.tolist()) == [n // 2 - n // 4, n // 2 + n // 4]


def test_spectrum_input_reaches_the_pn_and_trains_the_fen() -> None:
    schema, _ = _schema()
    torch.manual_seed(0)
    cfg = FenPnConfig(fen_depth=1, fen_width=4, pn_width=4, feat_dim=8, pn_input="spectrum")
    model = FenPn(schema, cfg, n_models=3)
    x = torch.rand(2, 3, 16, 16)
    fp, out = model(x)
    # the PN sees the spectrum: same output as feeding it fingerprint_spectrum(fp) by hand
    torch.testing.assert_close(out["features"], model.pn(fingerprint_spectrum(fp))["features"])
    out["features"].sum().backward()
    assert model.fen.body[0].weight.grad is not None and model.fen.body[0].weight.grad.abs().sum() > 0


def test_unknown_pn_input_is_refused() -> None:
    assert FenPnConfig(pn_input="spectrum").pn_input == "spectrum"
    with pytest.raises(SrprintError, match="pn_input"):
        FenPnConfig(pn_input="pixels")
    with pytest.raises(SrprintError, match="loss_scale"):
        FenPnConfig(loss_scale="sum")
