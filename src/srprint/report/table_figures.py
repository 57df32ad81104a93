"""The report's figures drawn from result tables: robustness curves, open set, verdict heat map, zoo quality.

Each function takes the parsed JSON of a table and returns PNG bytes, or None when the table holds
nothing to draw. Every figure has a title, labelled axes and a legend or colour bar.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from .tables import as_dict, as_list, dict_rows, num

DPI = 110
_PERTURB = re.compile(r"^(jpeg|resize)([0-9]*\.?[0-9]+)$")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def perturb_points(ev: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """The ``perturb`` entries of an evaluation as ``{"jpeg": [(quality, acc)], "resize": [(factor, acc)]}``.

    Keys look like ``jpeg90`` or ``resize0.5``; others are ignored. Points are sorted by setting.
    """
    out: dict[str, list[tuple[float, float]]] = {}
    for key, val in as_dict(ev.get("perturb")).items():
        m = _PERTURB.match(str(key))
        acc = num(as_dict(val).get("acc"))
        if m and acc is not None:
            out.setdefault(m.group(1), []).append((float(m.group(2)), acc))
    return {k: sorted(v) for k, v in out.items()}


def robustness_figure(evaluations: list[tuple[str, dict[str, Any]]]) -> bytes | None:
    """Accuracy against JPEG quality and against resize factor, one line per evaluation.

    Parameters
    ----------
    evaluations : list of (label, evaluation)
        Evaluations with ``overall_acc`` (the clean point), ``chance`` and ``perturb``.

    Returns
    -------
    bytes or None
        The PNG, or None when no evaluation has a JPEG or resize entry.
    """
    curves = [(label, ev, perturb_points(ev)) for label, ev in evaluations]
    kinds = [k for k in ("jpeg", "resize") if any(k in pts for _, _, pts in curves)]
    if not kinds:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 3.6), squeeze=False)
    clean_x = {"jpeg": 100.0, "resize": 1.0}
    chance = next((num(ev.get("chance")) for _, ev, _ in curves if num(ev.get("chance")) is not None), None)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for label, ev, pts in curves:
            if kind not in pts:
                continue
            xy = list(pts[kind])
            clean = num(ev.get("overall_acc"))
            if clean is not None:
                xy.append((clean_x[kind], clean))
            xs, ys = zip(*sorted(xy), strict=True)
            ax.plot(xs, [100 * y for y in ys], marker="o", label=label)
        if chance is not None:
            ax.axhline(100 * chance, color="grey", linestyle="--", linewidth=1, label="chance")
        if kind == "jpeg":
            ax.set(title="JPEG recompression", xlabel="JPEG quality (100 = no recompression)")
            ax.invert_xaxis()
        else:
            ax.set(title="Downscaling", xlabel="resize factor (1 = original size)")
            ax.invert_xaxis()
        ax.set(ylabel="test accuracy (%)", ylim=(-3, 103))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("Attribution accuracy under perturbations of the test images", fontsize=10)
    fig.tight_layout()
    return _png(fig)


OPENSET_SCORES = ("msp", "distance")


def openset_figure(evaluations: list[tuple[str, dict[str, Any]]]) -> bytes | None:
    """Open-set detection: AUROC per score, and the share of known / unknown images rejected.

    Bar charts of each score's AUROC and of its rates at the threshold that keeps the target share of
    known images (tables made before the evaluation stored ROC points have only these).

    Returns
    -------
    bytes or None
        The PNG, or None when no evaluation has an ``openset`` entry with an AUROC.
    """
    rows = []  # (label, score, auroc, known rejected, unknown rejected)
    for label, ev in evaluations:
        op = as_dict(ev.get("openset"))
        for score in [s for s in op if isinstance(op.get(s), dict)]:
            d = op[score]
            if num(d.get("auroc")) is not None:
                rows.append((label, score, num(d.get("auroc")), num(d.get("known_flagged_unknown")),
                             num(d.get("unknown_flagged_unknown"))))
    if not rows:
        return None
    plt = _pyplot()
    labels = list(dict.fromkeys(r[0] for r in rows))
    scores = list(dict.fromkeys(r[1] for r in rows))
    width = 0.8 / len(labels)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.4, 3.6))
    for i, label in enumerate(labels):
        got = {r[1]: r for r in rows if r[0] == label}
        x = np.arange(len(scores)) + (i - (len(labels) - 1) / 2) * width
        au = [got[s][2] if s in got else np.nan for s in scores]
        bars = ax1.bar(x, au, width, label=label)
        ax1.bar_label(bars, fmt="%.3f", fontsize=7)
    ax1.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (0.5)")
    ax1.set(title="Open set: AUROC of each score", xlabel="score", ylabel="AUROC", ylim=(0, 1.35),
            xticks=np.arange(len(scores)), xticklabels=scores, yticks=np.linspace(0, 1, 6))
    ax1.legend(fontsize=8, loc="upper center", ncol=2)
    pairs = [(label, s) for label in labels for s in scores if any(r[0] == label and r[1] == s for r in rows)]
    known = [next(r[3] for r in rows if r[:2] == p) for p in pairs]
    unknown = [next(r[4] for r in rows if r[:2] == p) for p in pairs]
    x = np.arange(len(pairs))
    ax2.bar(x - 0.2, [100 * (v if v is not None else np.nan) for v in known], 0.4, label="known images rejected")
    ax2.bar(x + 0.2, [100 * (v if v is not None else np.nan) for v in unknown], 0.4,
            label="unknown images rejected")
    ax2.set(title="Rejections at the score's threshold", xlabel="evaluation / score",
            ylabel="images rejected as unknown (%)", ylim=(0, 125), xticks=x, yticks=np.arange(0, 101, 20))
    ax2.set_xticklabels([f"{a}\n{b}" for a, b in pairs], fontsize=7)
    ax2.legend(fontsize=8, loc="upper center", ncol=2)
    fig.tight_layout()
    return _png(fig)


def roc_figure(evaluations: list[tuple[str, dict[str, Any]]]) -> bytes | None:
    """Open-set ROC curves: known images accepted against unknown images accepted, one curve per score.

    Returns
    -------
    bytes or None
        The PNG, or None when no evaluation's ``openset`` scores hold ``roc`` points.
    """
    curves = []  # (label, fpr, tpr)
    for label, ev in evaluations:
        op = as_dict(ev.get("openset"))
        for score, d in op.items():
            roc = as_dict(d.get("roc")) if isinstance(d, dict) else {}
            fpr, tpr = as_list(roc.get("fpr")), as_list(roc.get("tpr"))
            if fpr and len(fpr) == len(tpr):
                auroc = num(d.get("auroc"))
                name = f"{label}, {score}" + (f" (AUROC {auroc:.3f})" if auroc is not None else "")
                curves.append((name, [float(v) for v in fpr], [float(v) for v in tpr]))
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    for name, fpr, tpr in curves:
        ax.plot(fpr, tpr, label=name, linewidth=1.5)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set(title="Open set: ROC of telling known from unknown models",
           xlabel="unknown images accepted as known (false positive rate)",
           ylabel="known images accepted (true positive rate)", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


VERDICTS = ("copy", "shared parent", "independent", "undecided")


def verdict_matrix(ver: dict[str, Any]) -> tuple[list[str], list[str], np.ndarray]:
    """Verdict counts of a verification table: rows (attack or pair kind), columns (verdict), counts.

    Copies are grouped by attack (an attack that could not be applied counts as ``not applied``);
    independent and shared-parent pairs by their populations.
    """
    groups: dict[str, dict[str, int]] = {}
    for r in dict_rows(ver.get("copy_rows")):
        verdict = r.get("verdict") if "error" not in r else "not applied"
        row = groups.setdefault(f"copy: {r.get('attack')}", {})
        row[str(verdict)] = row.get(str(verdict), 0) + 1
    for key, kind in (("independent_rows", "independent"), ("shared_rows", "shared parent")):
        for r in dict_rows(ver.get(key)):
            row = groups.setdefault(f"{kind} pair: {r.get('populations', '?')}", {})
            row[str(r.get("verdict"))] = row.get(str(r.get("verdict")), 0) + 1
    seen = {v for row in groups.values() for v in row}
    cols = [v for v in VERDICTS if v in seen] + sorted(seen - set(VERDICTS) - {"not applied"})
    if "not applied" in seen:
        cols.append("not applied")
    names = list(groups)
    counts = np.array([[groups[n].get(c, 0) for c in cols] for n in names], dtype=float).reshape(len(names), len(cols))
    return names, cols, counts


def verification_heatmap(ver: dict[str, Any]) -> bytes | None:
    """Heat map of the verdicts: each row (attack or pair kind) as shares of its pairs, counts written in.

    Returns
    -------
    bytes or None
        The PNG, or None when the table has no rows.
    """
    names, cols, counts = verdict_matrix(ver)
    if not names:
        return None
    plt = _pyplot()
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(2.2 + 1.25 * len(cols) + 2.4, 1.2 + 0.36 * len(names)))
    im = ax.imshow(share, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i in range(len(names)):
        for j in range(len(cols)):
            if counts[i, j]:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                        color="black" if share[i, j] > 0.6 else "white")
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set(xlabel="verdict", ylabel="suspect (attack on a source) or pair kind (populations)",
           title="Ownership verdicts: share of each row's pairs (number of pairs written in)")
    cbar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    cbar.set_label("share of the row's pairs")
    fig.tight_layout()
    return _png(fig)


def zoo_quality_figure(rows: list[dict[str, Any]], sets: tuple[str, ...] = ("Set5", "Set14")) -> bytes | None:
    """PSNR gain over bicubic of each model of the zoo-quality table, one bar per test set.

    Returns
    -------
    bytes or None
        The PNG, or None when no row has a PSNR gain.
    """
    rows = [r for r in rows if any(num(as_dict(r.get(s)).get("psnr_gain")) is not None for s in sets)]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(min(11, 2 + 0.55 * len(rows) * len(sets)), 3.6))
    x = np.arange(len(rows))
    width = 0.8 / len(sets)
    for i, s in enumerate(sets):
        gains = [num(as_dict(r.get(s)).get("psnr_gain")) for r in rows]
        ax.bar(x + (i - (len(sets) - 1) / 2) * width, [g if g is not None else np.nan for g in gains], width, label=s)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, [str(r.get("id", "?")) for r in rows], rotation=35, ha="right", fontsize=7)
    ax.set(title="Zoo quality: Y-PSNR gain over bicubic (above 0: better than bicubic)", xlabel="model",
           ylabel="PSNR gain (dB)")
    ax.legend(fontsize=8, title="test set", title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)
