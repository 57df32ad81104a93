"""Stored nulls are keyed on ``null_cache.STATISTIC_VERSION``: this test fails when what the statistic's
modules (alignment, lineage, functional) return on a tiny fixed pair changes and the version did not.

When it fails after an intended change of method: bump ``STATISTIC_VERSION`` and record the new values
under it in ``RECORDED``. When it fails after a refactor: the refactor changed a value."""

from __future__ import annotations

import math

import pytest

from srprint.verification import alignment, functional
from srprint.verification import lineage as lin
from srprint.verification.attacks import attack_model
from srprint.verification.fingerprint import load_entry_model
from srprint.verification.null_cache import STATISTIC_VERSION

from .conftest import make_sr_entry

V35 = {  # computed by the code of a11a39d (v3.5 as benchmarked) and by the code after it: identical
    "aligned_quantised": 0.9975578336022931,
    "aligned_widened": 0.9964032512752667,
    "aligned_independent": 0.1403008376634464,
    "v2_quantised": 0.9975245243806512,
    "v2_independent": 0.07256733230721449,
    "agreement_quantised_db": 42.89563204818984,
    "agreement_independent_db": 21.810856308592427,
    "lineage_p_bound": 0.016039719419826327,
    "lineage_p_value": 0.002166970007116833,
    "function_p_value": 0.002500589124272955,
}
V37 = {  # v3.7 adds the identity frame: on this tiny pair the other frames are already as high, so only the
    # frame's own value (an independent layer pair) is new; the rest equals v3.5's
    **V35,
    "identity_frame_independent": -0.049715492715966696,
}
RECORDED: dict[str, dict[str, float]] = {
    "v3.5": V35,
    # v3.6 (the weight-matched frame, withdrawn) moved only the independent pair's aligned S, to 0.2697880803559131
    "v3.7": V37,
}


def _values(tmp_path) -> dict[str, float]:
    s1, s2 = make_sr_entry(tmp_path, "s1", 1), make_sr_entry(tmp_path, "s2", 2)
    quantised = attack_model(s1, "quantize", tmp_path / "q", params={"bits": 4})
    widened = attack_model(attack_model(s1, "widen", tmp_path / "w", params={"extra": 2}), "quantize",
                           tmp_path / "wq", params={"bits": 4})
    models = [load_entry_model(e) for e in (s1, s2, quantised, widened)]
    caps = [lin.capture_model(m) for m in models]
    probes = functional.probe_batch("sr", 2)
    outs = [functional.outputs_on_probes(m, probes) for m in models]
    null = [0.05, 0.12, 0.2, 0.08]
    return {
        "aligned_quantised": alignment.compare_aligned(caps[0], caps[2]).similarity,
        "aligned_widened": alignment.compare_aligned(caps[0], caps[3]).similarity,
        "aligned_independent": alignment.compare_aligned(caps[0], caps[1]).similarity,
        "v2_quantised": lin.compare_captures(caps[0], caps[2]).similarity,
        "v2_independent": lin.compare_captures(caps[0], caps[1]).similarity,
        "agreement_quantised_db": functional.agreement_db(outs[0], outs[2]),
        "agreement_independent_db": functional.agreement_db(outs[0], outs[1]),
        "lineage_p_bound": lin.lineage_p_value(0.6, null)["p_bound"],
        "lineage_p_value": lin.lineage_p_value(0.6, null)["p_value"],
        "function_p_value": functional.agreement_p_value(40.0, [20.0, 22.0, 25.0, 21.0])["p_value"],
        "identity_frame_independent": alignment.identity_frame(caps[0].layers[2], caps[1].layers[2]),
    }


def test_the_statistic_is_what_its_version_recorded(tmp_path) -> None:
    if STATISTIC_VERSION not in RECORDED:
        pytest.fail(f"no values recorded for STATISTIC_VERSION {STATISTIC_VERSION!r}: add them to RECORDED")
    got, want = _values(tmp_path), RECORDED[STATISTIC_VERSION]
    changed = {k: (want.get(k), v) for k, v in got.items()
               if k not in want or not math.isclose(v, want[k], rel_tol=1e-6, abs_tol=1e-9)}
    assert not changed, (f"the statistic changed under STATISTIC_VERSION {STATISTIC_VERSION!r} (recorded, now): "
                         f"{changed}; bump the version if the change is meant")
