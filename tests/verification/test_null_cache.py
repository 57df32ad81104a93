"""The on-disk cache of a source's nulls: a hit skips the work, anything else recomputes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch

from srprint.verification.null_cache import CACHE_DIR, cached_null, model_digest, shape_signature


def _null(calls: list[int], value: float = 0.5):
    def compute() -> dict:
        calls.append(1)
        return {"similarities": [value, 0.25], "models": ["random-init-0", "ref"]}
    return compute


def _ref(tmp_path: Path, name: str = "ref") -> SimpleNamespace:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "model.safetensors").write_bytes(b"w")
    return SimpleNamespace(id=name, path=folder)


def test_a_second_call_reads_the_stored_null(tmp_path: Path) -> None:
    calls: list[int] = []
    refs = [_ref(tmp_path)]
    first = cached_null("lineage", {"source": "abc"}, refs, _null(calls), values_key="similarities", home=tmp_path)
    again = cached_null("lineage", {"source": "abc"}, refs, _null(calls), values_key="similarities", home=tmp_path)
    assert calls == [1] and not first["cached"] and again["cached"]
    assert again["similarities"] == first["similarities"] and again["models"] == first["models"]


def test_another_source_or_a_changed_reference_misses(tmp_path: Path) -> None:
    calls: list[int] = []
    refs = [_ref(tmp_path)]
    cached_null("lineage", {"source": "abc"}, refs, _null(calls), values_key="similarities", home=tmp_path)
    cached_null("lineage", {"source": "abd"}, refs, _null(calls), values_key="similarities", home=tmp_path)
    (refs[0].path / "model.safetensors").write_bytes(b"other weights")
    cached_null("lineage", {"source": "abc"}, refs, _null(calls), values_key="similarities", home=tmp_path)
    assert calls == [1, 1, 1]


def test_a_corrupt_or_hostile_cache_file_is_recomputed(tmp_path: Path) -> None:
    calls: list[int] = []
    cached_null("function", {"source": "s"}, [], _null(calls), values_key="similarities", home=tmp_path)
    (stored,) = tmp_path.joinpath(*CACHE_DIR).iterdir()
    for bad in ("{not json", json.dumps({"similarities": ["NaN"], "models": ["x"]}),
                json.dumps({"similarities": [float("inf")], "models": ["x"]}),
                json.dumps({"similarities": [1.0], "models": [{"path": "/etc"}]}), json.dumps([1, 2])):
        stored.write_text(bad)
        out = cached_null("function", {"source": "s"}, [], _null(calls, 0.75), values_key="similarities",
                          home=tmp_path)
        assert not out["cached"] and out["similarities"] == [0.75, 0.25]
    assert len(calls) == 6


def test_digests_follow_weights_and_shapes() -> None:
    torch.manual_seed(0)
    a = torch.nn.Conv2d(3, 4, 3)
    b = torch.nn.Conv2d(3, 4, 3)
    c = torch.nn.Conv2d(3, 5, 3)
    assert model_digest(a) != model_digest(b)
    b.load_state_dict(a.state_dict())
    assert model_digest(a) == model_digest(b)
    assert shape_signature(a) == shape_signature(b) != shape_signature(c)
    bn = torch.nn.BatchNorm2d(4)  # a 0-dim integer buffer (num_batches_tracked)
    assert model_digest(bn) == model_digest(torch.nn.BatchNorm2d(4))


def test_a_sources_probe_outputs_are_stored_and_a_bad_copy_is_recomputed(tmp_path: Path, monkeypatch) -> None:
    from srprint.verification import functional
    from srprint.verification.fingerprint import load_entry_model

    from .conftest import make_sr_entry

    src, suspect = make_sr_entry(tmp_path, "src", 1), make_sr_entry(tmp_path, "sus", 2)
    runs: list[str] = []
    real = functional.outputs_on_probes

    def counted(model, probes):
        runs.append("forward")
        return real(model, probes)

    monkeypatch.setattr(functional, "outputs_on_probes", counted)
    first = functional.functional_stage(src, suspect, load=load_entry_model)
    assert len(runs) == 2  # source and suspect
    again = functional.functional_stage(src, suspect, load=load_entry_model)
    assert len(runs) == 3 and again["agreement_db"] == first["agreement_db"]  # the suspect alone ran
    (stored,) = (tmp_path / "home").rglob("outputs-*.safetensors")  # $SRPRINT_HOME (tests/verification/conftest)
    for bad in (b"not safetensors", None):
        if bad is None:  # a valid file holding values outside [0, 1]
            from srprint.io.checkpoints import save_weights
            save_weights(stored, {"outputs": torch.full((5, 3, 64, 64), 2.0)})
        else:
            stored.write_bytes(bad)
        out = functional.functional_stage(src, suspect, load=load_entry_model)
        assert out["agreement_db"] == first["agreement_db"]
    assert len(runs) == 7  # each bad copy: both models ran again
