"""The ownership verdict (srprint.verification.ownership): lineage first, functional fall-through."""

import pytest

from srprint.verification import ownership
from srprint.verification.attacks import attack_model
from srprint.verification.fingerprint import load_entry_model
from srprint.zoo.entry import ZooEntry

from .conftest import make_denoiser_entry, make_sr_entry


@pytest.fixture()
def pop(tmp_path):
    root = tmp_path / "zoo"
    entries = {f"s{i}": make_sr_entry(root, f"EDSR-tiny-x2-s{i}", i) for i in range(1, 7)}
    entries["dn"] = make_denoiser_entry(root)
    return root, entries


def test_permuted_and_rescaled_copy_is_a_copy(pop, tmp_path):
    root, e = pop
    perm = attack_model(e["s1"], "permute", tmp_path / "perm", {"seed": 3})
    both = attack_model(perm, "rescale", tmp_path / "perm_rescale", {"seed": 4})
    assert abs(perm.metrics["psnr_change"]) < 1e-4 and abs(both.metrics["psnr_change"]) < 1e-4
    v = ownership.verify_models(e["s1"], both, load=load_entry_model, references=list(e.values()))
    assert v.verdict == "copy", v.explanation
    assert v.lineage["similarity"] > 0.9999 and v.lineage["p_value"] < ownership.ALPHA


def test_independent_initialisation_is_independent(pop):
    _, e = pop
    v = ownership.verify_models(e["s1"], e["s2"], load=load_entry_model, references=list(e.values()))
    assert v.verdict == "independent", v.explanation
    assert v.lineage["coverage"] > 0.95


def test_another_architecture_falls_through_to_the_functional_stage(pop):
    _, e = pop
    calls = []

    def functional():
        calls.append(1)
        return {"d_over_eta": 3.0, "paper_verdict": "independent"}

    v = ownership.verify_models(e["s1"], e["dn"], load=load_entry_model, functional=functional)
    assert v.verdict == "undecided" and calls == [1]
    assert v.lineage["coverage"] < 0.5 and "do not line up" in v.explanation


def test_calibration_never_receives_the_test_pair_or_its_copies(pop, tmp_path, monkeypatch):
    _, e = pop
    copy_of_suspect = attack_model(e["s2"], "noise", tmp_path / "s2noise", {"sigma": 0.01})
    seen = []
    real = ownership.lineage_null

    def spy(cap, model, refs, load, n_random=ownership.N_RANDOM, **kw):
        refs = list(refs)
        seen.extend(r.id for r in refs)
        return real(cap, model, refs, load, n_random, **kw)

    monkeypatch.setattr(ownership, "lineage_null", spy)
    refs = [*e.values(), copy_of_suspect]
    ownership.verify_models(e["s1"], e["s2"], load=load_entry_model, references=refs)
    assert seen, "the null used no reference model"
    assert not {"EDSR-tiny-x2-s1", "EDSR-tiny-x2-s2", copy_of_suspect.id} & set(seen)
    assert "tiny-denoiser" not in seen  # another task is never a reference


def test_shared_initialisation_is_a_common_parent():
    a = ZooEntry(id="A", source="trained", arch="EDSR", scale=2, spec={"arch": "EDSR", "size": "tiny", "seed": 1})
    b = ZooEntry(id="B", source="trained", arch="EDSR", scale=4, spec={"arch": "EDSR", "size": "tiny", "seed": 1})
    c = ZooEntry(id="C", source="trained", arch="EDSR", scale=2, spec={"arch": "EDSR", "size": "tiny", "seed": 2})
    assert ownership.lineage_ancestors(a) & ownership.lineage_ancestors(b)
    assert not ownership.lineage_ancestors(a) & ownership.lineage_ancestors(c)
    assert [r.id for r in ownership.select_references([a, b, c], a, c)] == []
    assert [r.id for r in ownership.select_references([b, c], a, a)] == ["C"]
