"""The ownership verdict (srprint.verification.ownership): lineage first, functional fall-through."""

import pytest
import torch

from srprint.io.checkpoints import save_weights
from srprint.verification import lineage as lin
from srprint.verification import ownership
from srprint.verification.attacks import attack_model
from srprint.verification.fingerprint import load_entry_model
from srprint.verification.verdict_text import FEW_TRAINED, own_architecture_note
from srprint.zoo.archs import create_arch
from srprint.zoo.entry import ZooEntry
from srprint.zoo.model import register_loader

from .conftest import TINY_EDSR, make_denoiser_entry, make_sr_entry


@pytest.fixture()
def pop(tmp_path):
    root = tmp_path / "zoo"
    entries = {f"s{i}": make_sr_entry(root, f"EDSR-tiny-x2-s{i}", i) for i in range(1, 7)}
    entries["dn"] = make_denoiser_entry(root)
    return root, entries


def test_permuted_and_rescaled_copy_is_a_copy(pop, tmp_path):
    root, e = pop
    perm = attack_model(e["s1"], "permute", tmp_path / "perm", params={"seed": 3})
    both = attack_model(perm, "rescale", tmp_path / "perm_rescale", params={"seed": 4})
    assert abs(perm.metrics["psnr_change"]) < 1e-4 and abs(both.metrics["psnr_change"]) < 1e-4
    v = ownership.verify_models(e["s1"], both, load=load_entry_model, references=list(e.values()))
    assert v.verdict == "copy", v.explanation
    assert v.functional["decision"] == "same" and v.functional["agreement_db"] > 100  # function first
    for method in ("v3", "v2"):  # and the weights alone, by either lineage statistic
        v = ownership.verify_models(e["s1"], both, load=load_entry_model, references=list(e.values()),
                                    method=method)
        res = ownership.comparator(method)(*(lin.capture_model(load_entry_model(x)) for x in (e["s1"], both)))
        assert res.similarity > 0.9999


def test_independent_initialisation_is_independent(pop):
    _, e = pop
    for method in ("v3", "v2"):
        v = ownership.verify_models(e["s1"], e["s2"], load=load_entry_model, references=list(e.values()),
                                    method=method)
        assert v.verdict == "independent", v.explanation
        assert v.lineage["coverage"] > 0.95 and v.functional["decision"] == "not closer"


def test_another_task_is_independent_not_undecided(pop):
    _, e = pop
    v = ownership.verify_models(e["s1"], e["dn"], load=load_entry_model)
    assert v.verdict == "independent", v.explanation
    assert "different tasks" in v.explanation


def test_calibration_never_receives_the_test_pair_or_its_copies(pop, tmp_path, monkeypatch):
    _, e = pop
    copy_of_suspect = attack_model(e["s2"], "noise", tmp_path / "s2noise", params={"sigma": 0.01})
    seen = []
    real = ownership.lineage_null

    def spy(cap, model, refs, load, n_random=ownership.N_RANDOM, **kw):
        refs = list(refs)
        seen.extend(r.id for r in refs)
        return real(cap, model, refs, load=load, n_random=n_random, **kw)

    from srprint.verification import functional as fn

    real_fn = fn.function_null
    seen_fn = []

    def spy_fn(out, refs, *, load, probes, **kw):
        refs = list(refs)
        seen_fn.extend(r.id for r in refs)
        return real_fn(out, refs, load=load, probes=probes, **kw)

    monkeypatch.setattr(ownership, "lineage_null", spy)
    monkeypatch.setattr(fn, "function_null", spy_fn)
    refs = [*e.values(), copy_of_suspect]
    ownership.verify_models(e["s1"], e["s2"], load=load_entry_model, references=refs)
    assert seen and seen_fn, "a null used no reference model"
    for used in (seen, seen_fn):  # neither calibration ever receives a side of the scored pair or a copy of one
        assert not {"EDSR-tiny-x2-s1", "EDSR-tiny-x2-s2", copy_of_suspect.id} & set(used)
        assert "tiny-denoiser" not in used  # another task is never a reference


def test_shared_initialisation_is_a_common_parent():
    a = ZooEntry(id="A", source="trained", arch="EDSR", scale=2, spec={"arch": "EDSR", "size": "tiny", "seed": 1})
    b = ZooEntry(id="B", source="trained", arch="EDSR", scale=4, spec={"arch": "EDSR", "size": "tiny", "seed": 1})
    c = ZooEntry(id="C", source="trained", arch="EDSR", scale=2, spec={"arch": "EDSR", "size": "tiny", "seed": 2})
    assert ownership.lineage_ancestors(a) & ownership.lineage_ancestors(b)
    assert not ownership.lineage_ancestors(a) & ownership.lineage_ancestors(c)
    assert [r.id for r in ownership.select_references([a, b, c], a, c)] == []
    assert [r.id for r in ownership.select_references([b, c], a, a)] == ["C"]


class PaddedEDSR(torch.nn.Module):
    """The same function as a tiny EDSR in another graph: every 3x3 kernel zero-padded to 5x5."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.net = create_arch("EDSR", scale, config=dict(TINY_EDSR))
        for mod in list(self.net.modules()):
            for child_name, child in list(mod.named_children()):
                if isinstance(child, torch.nn.Conv2d) and child.kernel_size == (3, 3):
                    setattr(mod, child_name, torch.nn.Conv2d(child.in_channels, child.out_channels, 5, padding=2))

    def forward(self, x):
        return self.net(x)


@register_loader("test-padded-edsr")
def _load_padded(entry, state):
    net = PaddedEDSR(entry.scale)
    net.load_state_dict(state)
    return net


def _padded_copy(src_entry, folder):
    torch.manual_seed(0)
    padded = PaddedEDSR(src_entry.scale)
    src = load_entry_model(src_entry).net
    with torch.no_grad():
        for (_, a), (_, b) in zip(src.named_modules(), padded.net.named_modules(), strict=True):
            if isinstance(a, torch.nn.Conv2d):
                b.weight.zero_()
                k = (b.kernel_size[0] - a.kernel_size[0]) // 2
                b.weight[:, :, k:k + a.kernel_size[0], k:k + a.kernel_size[1]] = a.weight
                b.bias.copy_(a.bias)
    folder.mkdir(parents=True)
    save_weights(folder / "model.safetensors", padded.state_dict())
    e = ZooEntry(id=src_entry.id + "+padded", source="imported", arch="PaddedEDSR", scale=src_entry.scale,
                 task="sr", loader="test-padded-edsr")
    e.save(folder)
    return e


def test_converted_graph_is_a_copy_by_the_function_stage(pop, tmp_path):
    root, e = pop
    conv = _padded_copy(e["s1"], tmp_path / "padded")
    v = ownership.verify_models(e["s1"], conv, load=load_entry_model, references=list(e.values()))
    assert v.verdict == "copy", v.explanation
    assert v.functional["decision"] == "same"
    other = _padded_copy(e["s2"], tmp_path / "padded2")  # another model in the same converted graph
    v = ownership.verify_models(e["s1"], other, load=load_entry_model, references=list(e.values()))
    assert v.verdict == "independent", v.explanation


def test_seed_siblings_with_a_plus_in_the_loss_do_not_share_a_lineage_tag():
    a = ZooEntry(id="RCAN-div2k-x4-VGG+Adv-s1", source="trained", arch="RCAN", scale=4)
    b = ZooEntry(id="RCAN-div2k-x4-VGG+Adv-s2", source="trained", arch="RCAN", scale=4)
    c = ZooEntry(id="RCAN-div2k-x4-VGG+Adv-s1+prune5+finetune500", source="trained", arch="RCAN", scale=4,
                 labels={"attack": "finetune", "parent": "RCAN-div2k-x4-VGG+Adv-s1+prune5"})
    assert not ownership.lineage_ancestors(a) & ownership.lineage_ancestors(b)
    assert "RCAN-div2k-x4-VGG+Adv-s1" in ownership.lineage_ancestors(c)
    assert ownership.strip_attack_tags("X-VGG+Adv-s2+mix100+insert-identity0.5") == "X-VGG+Adv-s2"


def test_only_the_distribution_free_bound_failing_is_inconclusive():
    res = lin.LineageResult(0.4, 1.0, 5, 5, 5)
    test = {"p_value": 1e-5, "p_bound": 0.2, "null_max": 0.2}
    assert ownership.decide_lineage(res, test) == "undecided"
    text = ownership.explain("undecided", "A", "B", lineage={"similarity": 0.4, "coverage": 1.0, "p_value": 1e-5,
                                                             "p_bound": 0.2, "null_n": 8}, functional={})
    assert text.startswith("inconclusive") and "as unrelated" not in text


def test_holm_controls_the_family_wise_error_over_registered_owners():
    assert ownership.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    weak = ownership.OwnershipVerdict("copy", "x", {}, {}, lineage={"p_value": 4e-4, "p_bound": 4e-4})
    strong = ownership.OwnershipVerdict("copy", "y", {}, {}, functional={"decision": "same", "p_value": 1e-9})
    rest = [ownership.OwnershipVerdict("independent", "z", {}, {}, lineage={"p_value": 0.5, "p_bound": 1.0})
            for _ in range(3)]
    results = [("weak", weak), ("strong", strong), *[(f"o{i}", v) for i, v in enumerate(rest)]]
    ownership._family_wise(results)
    assert strong.verdict == "copy" and weak.verdict == "undecided"  # 4e-4 x 4 owners > 1e-3
    assert all("Holm-adjusted" in v.notes[-1] for _, v in results)


def test_inconclusive_weights_of_another_architecture_defer_to_the_function():
    from srprint.verification.protocol_v3 import redecide

    row = {"verdict": "undecided", "function": "not closer", "verdict_v2": "undecided", "p_value": 1e-6}
    assert redecide(row, None) == "independent"
    assert redecide({**row, "function": "closer"}, None) == "undecided"  # closer outputs: stays undecided
    assert redecide({**row, "verdict_v2": "independent"}, None) == "undecided"  # same shapes: stays undecided


def _entry(model_id, arch, seed, task="sr"):
    from types import SimpleNamespace

    return SimpleNamespace(id=model_id, arch=arch, task=task, labels={}, imported=None,
                           spec={"arch": arch, "size": "small", "seed": seed})


def test_benchmark_negatives_share_no_lineage_and_include_seed_siblings():
    from srprint.verification.ownership import lineage_ancestors
    from srprint.verification.protocol_v3 import negatives_for

    source = _entry("EDSR-bsds-x2-L1-s1", "EDSR", 1)
    pop = [source, _entry("EDSR-bsds-x4-L1-s1", "EDSR", 1),  # same initialisation: a shared parent, never a negative
           _entry("EDSR-bsds-x2-L1-s2", "EDSR", 2), _entry("dn", "DnCNN", 3, task="denoise"),
           *(_entry(f"RCAN-bsds-x2-L1-s{i}", "RCAN", i) for i in range(1, 40))]
    negs = negatives_for(source, pop, 30, spread=24)
    assert len(negs) == 30 and len({e.id for e in negs}) == 30
    assert all(e.task == "sr" and not (lineage_ancestors(e) & lineage_ancestors(source)) for e in negs)
    assert "EDSR-bsds-x2-L1-s2" in {e.id for e in negs}
    assert negs[:24] == negatives_for(source, pop, 24)  # a longer list extends the shorter one: runs resume


def test_inconclusive_weights_with_closer_outputs_on_the_same_architecture_are_related(pop, tmp_path, monkeypatch):
    from srprint.verification import functional

    _, e = pop
    q = attack_model(e["s1"], "quantize", tmp_path / "q", params={"bits": 8})
    stage, p_value = functional.functional_stage, lin.lineage_p_value
    monkeypatch.setattr(lin, "lineage_p_value", lambda s, null: {**p_value(s, null), "p_bound": 0.01})
    for decision, expected in (("closer", {"copy", "shared parent"}), ("not closer", {"undecided"})):
        monkeypatch.setattr(functional, "functional_stage",
                            lambda *a, d=decision, **k: {**stage(*a, **k), "decision": d, "p_value": 1e-5})
        v = ownership.verify_models(e["s1"], q, load=load_entry_model, references=list(e.values()))
        assert v.verdict in expected, v.explanation
        assert (v.lineage.get("decided_by") == ownership.WEIGHTS_AND_FUNCTION) == (decision == "closer")
    # with closer outputs but no trained model in the lineage null (random re-initialisations only) the
    # tie-break does not fire: the weights' evidence stays inconclusive
    monkeypatch.setattr(functional, "functional_stage",
                        lambda *a, **k: {**stage(*a, **k), "decision": "closer", "p_value": 1e-5})
    v = ownership.verify_models(e["s1"], q, load=load_entry_model, references=[])
    assert len(v.lineage["null_models"]) == ownership.N_RANDOM
    assert v.verdict == "undecided" and v.lineage.get("decided_by") is None, v.explanation
    from srprint.verification.protocol_v3 import redecide

    row = {"verdict": "undecided", "function": "closer", "verdict_v2": "copy", "p_value": 1e-9, "similarity": 0.9997,
           "coverage": 0.95}
    assert redecide(row, 0.07) == "copy" and redecide({**row, "similarity": 0.5}, 0.07) == "shared parent"
    # the tie-break needs trained models in the null: against random re-initialisations alone (8 of 9) the
    # t-predictive p says nothing about trained independent models
    tie = {**row, "verdict": "copy", "decided_by": ownership.WEIGHTS_AND_FUNCTION, "kind_coverage": 1.0}
    assert redecide({**tie, "null_n": 16}, 0.07) == "copy"
    assert redecide({**tie, "null_n": ownership.N_RANDOM + 1}, 0.07) == "undecided"


def test_timing_sample_takes_each_sources_first_decided_negative_lineage_copy_and_exact_copy():
    from srprint.verification.protocol_v3 import METHOD
    from srprint.verification.protocol_v3_timing import _timing_sample, summarise_timing

    rows = [{"key": "a|neg|x", "source": "a", "kind": "negative", "verdict": "undecided", "status": "ok"},
            {"key": "a|neg|y", "source": "a", "kind": "negative", "verdict": "independent", "status": "ok"},
            {"key": "a|mix", "source": "a", "kind": "copy-scored", "verdict": "copy", "function": "same",
             "status": "ok"},
            {"key": "a|int8", "source": "a", "kind": "copy-scored", "verdict": "copy", "function": "closer",
             "status": "ok"},
            {"key": "a|fp16", "source": "a", "kind": "copy-scored", "verdict": "copy", "function": "closer",
             "status": "ok"},
            {"key": "c|mix", "source": "c", "kind": "copy-calibration", "verdict": "copy", "status": "ok"}]
    assert [r["key"] for r in _timing_sample(rows, 3)] == ["a|neg|y", "a|int8", "a|mix"]
    assert [r["key"] for r in _timing_sample(rows, 1)] == ["a|neg|y"]
    t = summarise_timing([{"key": "a", "method": METHOD, "seconds_first": 9.0, "seconds_stored_nulls": 1.0,
                           "verdicts": ["copy", "copy"], "verdict_run": "copy", "load_average": 2.0},
                          {"key": "b", "method": METHOD, "seconds_first": 3.0, "seconds_stored_nulls": 6.0,
                           "verdicts": ["copy", "independent"], "verdict_run": "copy", "load_average": 3.0},
                          {"key": "c", "method": "v3.0", "seconds_first": 90.0, "seconds_stored_nulls": 40.0,
                           "verdicts": ["copy", "copy"], "verdict_run": "copy", "load_average": 3.0}])
    assert t["stored_nulls"]["max"] == 6.0 and t["first"]["max"] == 9.0  # the older method's row is left out
    assert t["older_rows"] == 1 and t["within_target"]["k"] == 1 and t["within_target"]["n"] == 2
    assert t["slowest"][0]["key"] == "b"
    assert t["verdicts_repeat"] == 1 and t["verdicts_match_run"] == 1


def test_the_lineage_nulls_trained_models_are_the_suspects_architecture_or_its_size():
    # random re-initialisations are farther from a trained source than trained models are: without trained
    # models of the suspect's architecture the null takes the independent models closest to it in size
    from types import SimpleNamespace

    from srprint.verification.ownership import lineage_references

    def entry(model_id, arch, size, repo=None):
        row = {"source_repo": repo} if repo else {}
        return SimpleNamespace(id=model_id, arch=arch, task="sr", labels={}, spec=None, path=None,
                               imported={"size_bytes": size, "manifest_row": row})

    source, suspect = entry("src", "RFDN", 1_700_000, "a/rfdn"), entry("sus", "IMDN", 2_700_000, "b/imdn")
    pop = [source, suspect, entry("big", "SwinIR", 40_000_000), entry("tiny", "FSRCNN", 50_000),
           entry("near1", "RLFN", 2_200_000), entry("near2", "EFDN", 3_000_000),
           entry("sibling", "IMDN", 2_700_000, "b/imdn")]  # same origin as the suspect: never a reference
    refs = lineage_references(pop, source, suspect, spread=pop[2:4], n=2)
    assert [r.id for r in refs] == ["near2", "near1"]
    same = [entry(f"imdn{i}", "IMDN", 2_700_000, f"c{i}/imdn") for i in range(3)]
    assert lineage_references(pop, source, suspect, spread=same, n=2) == same


def test_a_shared_parent_needs_trained_models_in_the_null(pop, tmp_path):
    # a lineage index's small reference pool left rfdn x4 against imdn x4 with a null of random
    # re-initialisations only, and they were called shared parent: such a null cannot say it
    _, e = pop
    q = attack_model(e["s1"], "quantize", tmp_path / "q", params={"bits": 4})  # moves the function a little
    related = {"load": load_entry_model, "copy_max_distance": 1e-12}  # no copy band: significant is shared parent
    v = ownership.verify_models(e["s1"], q, references=list(e.values()), **related)
    assert v.verdict == "shared parent", v.explanation
    assert not any("independently trained" in n for n in v.notes), v.notes  # its null holds trained EDSRs
    v = ownership.verify_models(e["s1"], q, references=[], **related)
    assert len(v.lineage["null_models"]) == ownership.N_RANDOM
    assert v.verdict == "undecided" and v.lineage["decided_by"] == FEW_TRAINED, v.explanation
    assert "random re-initialisations alone" in v.explanation
    assert ownership.verify_models(e["s1"], q, load=load_entry_model, references=[]).verdict == "copy"  # in band
    from srprint.verification.protocol_v3 import redecide

    row = {"verdict": "shared parent", "function": "not closer", "p_value": 1e-9, "similarity": 0.5,
           "coverage": 0.95, "kind_coverage": 1.0}
    assert redecide({**row, "null_n": 16}, 0.07) == "shared parent"
    assert redecide({**row, "null_n": ownership.N_RANDOM + 2}, 0.07) == "undecided"
    assert redecide({**row, "similarity": 0.99, "null_n": ownership.N_RANDOM}, 0.07) == "copy"


def test_a_shared_parent_without_trained_models_of_its_architecture_in_the_null_says_so():
    # seed siblings of a small network trained on one task (FSRCNN x4) were called shared parent against
    # a null of other architectures (bench/results/verification_retrained.md): the verdict carries a caveat
    note = own_architecture_note("shared parent", ["IMDN", "RFDN"], "FSRCNN")
    assert note is not None and "FSRCNN" in note and "--reference" in note
    assert own_architecture_note("shared parent", ["FSRCNN", "IMDN"], "FSRCNN") is None
    assert own_architecture_note("independent", [], "FSRCNN") is None
    assert own_architecture_note("copy", [], "FSRCNN") is None
