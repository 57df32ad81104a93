"""Per-layer evidence for verification v3.7's identity frame (issue 26): the pairs it was made for and the pairs it
changed, layer by layer, beside controls.

For each pair, every layer pair that v3's pairing finds, with:

* *aligned*: the cosine v3.5 took (the larger of the least-squares frame and the permutation frame);
* *identity*: the canonical weights' cosine with no channel matched (``srprint.verification.alignment.identity_frame``);
* *activations*: the correlation of the two layers' output activations on the probe, channel by channel as they
  are (how far the edit decorrelated the function that the activation frames are fitted on).

Pairs: SPAN x4 against its per-tensor int8 copy (the case the frame was made for, a scored miss: post hoc); IMDN-AS
against IMDN x4 (the one same-architecture negative whose verdict the frame changed, in the check of 41); and, as
controls, two mini-zoo models trained apart (EDSR x2, L1 seed 1 and VGG+Adv seed 2) and IMDN x4 against a random
re-initialisation of IMDN-AS's architecture. Under independence a layer's identity cosine is about 0, within
``1 / sqrt(weights)`` (0.005 for a 64x64x3x3 layer).

Writes ``bench/results/verification_identity_frame.{json,md}``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results  # noqa: E402

PAIRS = (
    ("span-ch28_ntire2024_x4-pretrained", "int8", "made for (post hoc: a scored miss)"),
    ("imdn-as_official_x4-pretrained", "imdn_official_x4-pretrained", "changed negative"),
    ("EDSR-bsds-x2-L1-s1", "EDSR-bsds-x2-VGG+Adv-s2", "control: seed siblings"),
    ("imdn_official_x4-pretrained", "random:imdn-as_official_x4-pretrained", "control: random re-initialisation"),
)


def layer_rows(source: Any, suspect: Any) -> dict[str, Any]:
    """v3's layer pairing of two models, each pair's three numbers (module docstring), and S."""
    import numpy as np

    from srprint.verification import alignment
    from srprint.verification.lineage import capture_model

    ca, cb = capture_model(source), capture_model(suspect)
    res = alignment.compare_aligned(ca, cb)
    rows = []
    for (i, j), pl in zip(res.pairs, res.per_layer, strict=True):
        la, lb = ca.layers[i], cb.layers[j]
        same = la.weight.shape[:2] == lb.weight.shape[:2] and la.groups == lb.groups
        ident = alignment.identity_frame(*alignment._common_taps(la, lb)) if same else None
        act = (float(np.corrcoef(la.out_act.ravel(), lb.out_act.ravel())[0, 1])
               if la.out_act.shape == lb.out_act.shape else None)
        rows.append({"source": la.name, "suspect": lb.name, "shape": list(la.weight.shape),
                     "evidence": pl["evidence"], "v37": pl["cosine"], "identity": ident, "activations": act})
    return {"similarity_v37": res.similarity, "coverage": res.coverage, "layers": rows}


def main() -> None:
    import torch

    from srprint.config import srprint_home
    from srprint.verification.fingerprint import load_entry_model
    from srprint.verification.lineage import randomised_copy
    from srprint.verification.protocol import make_copy
    from srprint.verification.protocol_v3 import select_sources

    torch.set_num_threads(1)
    home = srprint_home()
    _, _, pop = select_sources(home / "bench" / "pretrained_zoo", home / "zoos" / "mini")
    by_id = {e.id: e for e in pop}
    out = []
    for a, b, why in PAIRS:
        src = load_entry_model(by_id[a])
        if b == "int8":
            sus = load_entry_model(make_copy(by_id[a], (("quantize", {"bits": 8}),), home / "bench" /
                                             "verification_identity_frame", tag="int8"))
        elif b.startswith("random:"):
            sus = randomised_copy(load_entry_model(by_id[b.split(":", 1)[1]]), seed=1000)
        else:
            sus = load_entry_model(by_id[b])
        out.append({"source": a, "suspect": b, "why": why, **layer_rows(src, sus)})
        print(a, b, round(out[-1]["similarity_v37"], 3), flush=True)
    write_results("verification_identity_frame", {"pairs": out}, markdown(out))


def markdown(pairs: list[dict[str, Any]]) -> str:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    lines = ["# Verification v3.7's identity frame, layer by layer (issue 26)", "",
             "*aligned*: v3.7's per-layer cosine, the largest of its frames; *identity*: the canonical weights with no "
             "channel matched; *activations*: the output activations' correlation, channels as they are. Under "
             "independence a layer's identity cosine is about 0 (within 1/sqrt(weights)).", ""]
    for p in pairs:
        lay = p["layers"]
        ident = [r["identity"] for r in lay if r["identity"] is not None]
        lines += [f"## {p['source']} against {p['suspect']} ({p['why']})", "",
                  f"S (v3.7) {p['similarity_v37']:.3f}, coverage {p['coverage']:.2f}; identity cosine over "
                  f"{len(ident)} same-shape layer pairs: median {sorted(ident)[len(ident) // 2]:.3f}, "
                  f"min {min(ident):.3f}, max {max(ident):.3f}" if ident else "no same-shape layer pair", "",
                  "| source layer | suspect layer | shape | evidence | aligned (v3.7) | identity | activations |",
                  "|---|---|---|---:|---:|---:|---:|"]
        lines += [f"| {r['source']} | {r['suspect']} | {tuple(r['shape'])} | {r['evidence']:.2f} | {f(r['v37'])} | "
                  f"{f(r['identity'])} | {f(r['activations'])} |" for r in lay]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
