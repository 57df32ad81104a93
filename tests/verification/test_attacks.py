import numpy as np
import pytest
import torch

from srprint.io.checkpoints import load_weights
from srprint.verification.attacks import attack_model, prune_tensor, quantize_tensor
from srprint.zoo.entry import ZooEntry
from srprint.zoo.model import load_model


def test_prune_tensor_exact_count_with_ties():
    t = torch.tensor([[0.1, -0.1, 0.1, 0.5], [2.0, -3.0, 0.1, 0.2]])
    out = prune_tensor(t, 25.0)  # exactly 2 of 8 zeroed even though four entries tie at |0.1|
    assert int((out == 0).sum()) == 2
    assert bool((out[t.abs() > 0.15] != 0).all())  # only tied smallest entries removed


def test_prune_attack_removes_exactly_p_percent_per_layer(tiny_zoo, tmp_path):
    src = ZooEntry.load(tiny_zoo / "EDSR-tiny-x2-s1")
    out = attack_model(src, "prune", tmp_path / "pruned", params={"percent": 10.0})
    before, after = load_weights(src.weights_path), load_weights(out.weights_path)
    n_layers = 0
    for k, w in before.items():
        if w.ndim >= 2:
            n_layers += 1
            newly = int(((after[k] == 0) & (w != 0)).sum())
            assert newly + int((w == 0).sum()) == round(0.10 * w.numel()), k
            kept = after[k][after[k] != 0].abs()
            assert kept.min() >= w.abs().flatten().sort().values[round(0.10 * w.numel()) - 1]
        else:
            torch.testing.assert_close(after[k], w)  # biases untouched
    assert n_layers >= 3
    assert out.labels["attack"] == "prune" and out.labels["parent"] == src.id
    assert np.isfinite(out.metrics["psnr_change"])
    load_model(out.path)  # loads like any zoo entry


def test_quantize_at_most_256_values_per_tensor(tiny_zoo, tmp_path):
    out = attack_model(tiny_zoo / "EDSR-tiny-x2-s1", "quantize", tmp_path / "q")
    state = load_weights(out.weights_path)
    assert all(torch.unique(v).numel() <= 256 for v in state.values())
    big = torch.randn(10_000)
    q = quantize_tensor(big)
    assert torch.unique(q).numel() <= 255
    assert (q - big).abs().max() <= big.abs().max() / 127 / 2 + 1e-6


def test_finetune_changes_weights_and_reports_psnr(tiny_zoo, tmp_path):
    src = ZooEntry.load(tiny_zoo / "EDSR-tiny-x2-s1")
    out = attack_model(src, "finetune", tmp_path / "ft", params={"iters": 3, "patch": 24, "batch": 2})
    a, b = load_weights(src.weights_path), load_weights(out.weights_path)
    assert any(not torch.equal(a[k], b[k]) for k in a)
    m = out.metrics
    assert m["psnr_change"] == pytest.approx(m["heldout_psnr_after"] - m["heldout_psnr_before"])
    again = attack_model(src, "finetune", tmp_path / "ft", params={"iters": 3, "patch": 24, "batch": 2})
    assert again.metrics == m  # already done: reused


def test_attack_refuses_source_folder(tiny_zoo):
    from srprint.errors import SrprintError

    with pytest.raises(SrprintError, match="overwrite the source"):
        attack_model(tiny_zoo / "EDSR-tiny-x2-s1", "prune", tiny_zoo / "EDSR-tiny-x2-s1")


def test_match_keys_by_value_when_names_differ():
    from srprint.verification.attacks import _match_keys

    file_state = {"w1": torch.randn(3, 3), "w2": torch.randn(3, 3), "b": torch.zeros(3)}
    net_state = {"model.0.weight": file_state["w2"].clone(), "model.0.bias": torch.zeros(3),
                 "model.1.weight": file_state["w1"].clone()}
    assert _match_keys(net_state, file_state) == {"w1": "model.1.weight", "w2": "model.0.weight", "b": "model.0.bias"}
    from srprint.errors import SrprintError

    with pytest.raises(SrprintError, match="cannot map"):
        _match_keys({"x": torch.ones(2)}, {"w": torch.zeros(2)})


def test_finetune_defaults_follow_the_paper():
    from srprint.verification.attacks import attack_params
    from srprint.verification.finetuning import _train_photos

    p = attack_params("finetune")
    assert p["iters"] == 500 and p["lr"] <= 1e-5 and p["data"] == "bsd68"
    photos = _train_photos("skimage")
    assert photos and "coffee" not in photos  # the held-out photo is never fine-tuned on
    assert _train_photos("bsd68")  # BSDS500 val photos, or the scikit-image fallback
    from srprint.errors import SrprintError

    with pytest.raises(SrprintError, match="fine-tuning data"):
        _train_photos("nope")


def test_attack_refuses_to_replace_another_model_or_fill_an_unrelated_folder(tiny_zoo, tmp_path):
    from srprint.errors import SrprintError

    src = ZooEntry.load(tiny_zoo / "EDSR-tiny-x2-s1")
    first = attack_model(src, "prune", tmp_path / "out", params={"percent": 5.0})
    with pytest.raises(SrprintError, match="already holds another model"):
        attack_model(src, "quantize", tmp_path / "out")
    assert ZooEntry.load(tmp_path / "out").id == first.id  # untouched
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    with pytest.raises(SrprintError, match="non-empty folder"):
        attack_model(src, "prune", notes)
    assert sorted(p.name for p in notes.iterdir()) == ["notes.txt"]
    again = attack_model(src, "quantize", tmp_path / "out", overwrite=True)
    assert again.labels["attack"] == "quantize"


@pytest.mark.parametrize("bits", [0, 1, 99])
def test_quantize_refuses_bits_out_of_range(tiny_zoo, tmp_path, bits):
    from srprint.errors import SrprintError

    with pytest.raises(SrprintError, match="bits must be in"):
        attack_model(tiny_zoo / "EDSR-tiny-x2-s1", "quantize", tmp_path / "q", params={"bits": bits})
    assert not (tmp_path / "q").exists()


def test_scaled_finetune_steps_each_tensor_in_proportion_and_is_recorded_only_when_on():
    from srprint.verification.attacks import attack_params
    from srprint.verification.finetuning import _param_groups

    big, tiny = torch.full((4, 4), 10.0), torch.full((4, 4), 1e-6)
    plain = _param_groups([big, tiny], 1e-4, scaled=False)
    assert len(plain) == 1 and plain[0]["lr"] == 1e-4
    lrs = [g["lr"] for g in _param_groups([big, tiny], 1e-4, scaled=True)]
    assert lrs[1] / lrs[0] == pytest.approx(1e-7)  # a tensor a million times smaller moves a million times less
    # Adam steps every entry by about lr: the tiny tensor is overwritten by a plain step, kept by a scaled one
    for scaled, kept in ((False, False), (True, True)):
        w = torch.full((8,), 1e-6, requires_grad=True)
        opt = torch.optim.Adam(_param_groups([w, torch.ones(8, requires_grad=True)], 1e-4, scaled=scaled))
        w.sum().backward()
        opt.step()
        assert (float(w.detach().abs().max()) < 2e-6) is kept
    # recorded only when on, so models fine-tuned before the option existed are still recognised
    assert "scaled" not in attack_params("finetune", {"scaled": False})
    assert attack_params("finetune", {"scaled": True})["scaled"] is True


def test_scaled_finetune_attack_is_reused_and_differs_from_plain(tiny_zoo, tmp_path):
    src = ZooEntry.load(tiny_zoo / "EDSR-tiny-x2-s1")
    kw = {"iters": 2, "patch": 24, "batch": 2}
    plain = attack_model(src, "finetune", tmp_path / "plain", params=kw)
    scaled = attack_model(src, "finetune", tmp_path / "scaled", params={**kw, "scaled": True})
    assert scaled.labels["attack_params"]["scaled"] is True and "scaled" not in plain.labels["attack_params"]
    a, b = load_weights(plain.weights_path), load_weights(scaled.weights_path)
    assert any(not torch.equal(a[k], b[k]) for k in a)
    assert attack_model(src, "finetune", tmp_path / "scaled", params={**kw, "scaled": True}).metrics == scaled.metrics


def test_a_collapsed_finetune_is_one_made_with_the_plain_step_that_lost_over_the_threshold():
    from types import SimpleNamespace

    from srprint.verification.finetuning import FINETUNE_COLLAPSE_DB, collapsed_by_plain_step

    def entry(attack: str, change: float, **params: object) -> SimpleNamespace:
        return SimpleNamespace(labels={"attack": attack, "attack_params": params}, metrics={"psnr_change": change})

    lost = -FINETUNE_COLLAPSE_DB - 0.1
    assert collapsed_by_plain_step(entry("finetune", lost))
    assert not collapsed_by_plain_step(entry("finetune", lost, scaled=True))  # already made the other way
    assert not collapsed_by_plain_step(entry("finetune", -FINETUNE_COLLAPSE_DB + 0.1))
    assert not collapsed_by_plain_step(entry("quantize", lost))  # another attack may lose that much
