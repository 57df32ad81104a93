"""Pairwise verification matrix (the paper's Figure 5) and the attack table (its Table 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import atomic_save, atomic_write_json, atomic_write_text
from ..zoo.entry import ZooEntry
from .attacks import attack_model, attack_params, attacked_id
from .fingerprint import FingerprintSettings, fingerprint_model
from .verify import verify_fingerprints

DEFAULT_ATTACKS = ("prune", "finetune", "quantize")


def heatmap(ratios: np.ndarray, labels: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(labels)
    fig, ax = plt.subplots(figsize=(2 + 0.6 * n, 1.5 + 0.6 * n))
    im = ax.imshow(np.log10(np.maximum(ratios, 1e-3)), cmap="viridis")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{ratios[i, j]:.2g}", ha="center", va="center", fontsize=7,
                    color="white" if ratios[i, j] < 1 else "black")
    ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    fig.colorbar(im, ax=ax, label="log10(d / eta)  (< 0: copy)")
    ax.set_title("pairwise d / eta")
    fig.tight_layout()
    atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def verification_matrix(entries: list[ZooEntry], settings: FingerprintSettings, out: str | Path,
                        *, attacks: tuple[str, ...] | list[str] = (), device: str = "cpu") -> dict[str, Any]:
    """Fingerprint every model, write ``matrix.png`` (pairwise d/eta), ``matrix.json`` and, with
    ``attacks``, ``attacks.md`` (verified or not for each model x attack, with the PSNR change)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fps = [fingerprint_model(e, settings, device) for e in entries]
    n = len(fps)
    ratios = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ratios[i, j] = 0.0 if i == j else verify_fingerprints(fps[i], fps[j]).ratio
    labels = [e.id for e in entries]
    heatmap(ratios, labels, out / "matrix.png")
    result: dict[str, Any] = {"models": labels, "settings": settings.to_dict(), "d_over_eta": ratios.tolist(),
                              "false_matches": int(sum(ratios[i, j] < 1 for i in range(n) for j in range(i + 1, n)))}
    rows = []
    for e, fp in zip(entries, fps, strict=True):
        for name in attacks:
            params = attack_params(name, {"percent": 10.0} if name == "prune" and e.task == "denoise" else None)
            ae = attack_model(e, name, out / "attacked" / attacked_id(e.id, name, params), params=params, device=device)
            v = verify_fingerprints(fp, fingerprint_model(ae, settings, device))
            rows.append({"model": e.id, "attack": name, "psnr_change": ae.metrics.get("psnr_change"),
                         "d_over_eta": v.ratio, "verified": v.is_copy})
    result["attacks"] = rows
    if attacks:
        md = ["| model | " + " | ".join(attacks) + " |", "|---" * (len(attacks) + 1) + "|"]
        for e in entries:
            cells = []
            for name in attacks:
                r = next(r for r in rows if r["model"] == e.id and r["attack"] == name)
                cells.append(f"{'yes' if r['verified'] else 'NO'} (d/eta {r['d_over_eta']:.2g}, "
                             f"{r['psnr_change']:+.2f} dB)")
            md.append(f"| {e.id} | " + " | ".join(cells) + " |")
        for name in attacks:
            sel = [r for r in rows if r["attack"] == name]
            result.setdefault("success_rate", {})[name] = sum(r["verified"] for r in sel) / max(len(sel), 1)
        atomic_write_text(out / "attacks.md", "\n".join(md) + "\n")
    atomic_write_json(out / "matrix.json", json.loads(json.dumps(result, default=float)))
    return result
