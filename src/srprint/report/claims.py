"""The claims page: each headline claim of the reference studies, our number, and what it shows.

A claim is *reproduced* or *refuted* by a rule fixed here, before any number is seen: a test at
p < 0.01 (binomial against chance, Fisher's exact test between two methods) or every verdict right.
A difference the test cannot tell from chance is *not shown* (too few images, not a refutation), and
a claim is *not tested* when the study did not run the stage that measures it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ALPHA = 0.01  # significance of the tests against chance


@dataclass(frozen=True)
class Claim:
    paper: str
    claim: str
    rule: str
    measure: Callable[[dict[str, Any]], tuple[str, str] | None]  # study data -> (our number, verdict)


def _above_chance(k: int, n: int, chance: float) -> tuple[float, str]:
    from scipy.stats import binomtest

    p = float(binomtest(k, n, chance, alternative="greater").pvalue)
    if p < ALPHA:
        return p, "reproduced"
    return p, "refuted" if k / n <= chance else "not shown"


def _attribution(data: dict[str, Any]) -> tuple[str, str] | None:
    ev = data.get("cnn")
    if not ev or not ev.get("n"):
        return None
    n, acc, chance = int(ev["n"]), float(ev["overall_acc"]), float(ev["chance"])
    p, verdict = _above_chance(round(acc * n), n, chance)
    return f"{100 * acc:.1f} % on {n} images (chance {100 * chance:.1f} %, p = {p:.1g})", verdict


def _seed_groups(data: dict[str, Any]) -> tuple[str, str] | None:
    groups = ((data.get("cnn") or {}).get("seed_groups") or {}).get("groups") or []
    if not groups:
        return None
    n = sum(int(g["n"]) for g in groups)
    k = sum(round(float(g["acc"]) * int(g["n"])) for g in groups)
    chance = sum(float(g["chance"]) * int(g["n"]) for g in groups) / n
    p, verdict = _above_chance(k, n, chance)
    return f"{100 * k / n:.1f} % on {n} images (chance {100 * chance:.1f} %, p = {p:.1g})", verdict


def _cnn_beats_prnu(data: dict[str, Any]) -> tuple[str, str] | None:
    from scipy.stats import fisher_exact

    cnn, prnu = data.get("cnn"), data.get("prnu")
    if not cnn or not prnu:
        return None
    n, m = int(cnn["n"]), int(prnu["n"])
    a, b = round(float(cnn["overall_acc"]) * n), round(float(prnu["overall_acc"]) * m)
    p = float(fisher_exact([[a, n - a], [b, m - b]]).pvalue)
    verdict = "not shown" if p >= ALPHA else "reproduced" if a / n > b / m else "refuted"
    return f"CNN {100 * a / n:.1f} % vs PRNU {100 * b / m:.1f} % (p = {p:.1g})", verdict


def _verdicts(key: str, right: Callable[[dict[str, Any]], bool], what: str) -> Callable[..., Any]:
    def measure(data: dict[str, Any]) -> tuple[str, str] | None:
        rows = data.get(key) or []
        if not rows:
            return None
        ok = sum(right(r) for r in rows)
        return f"{ok} of {len(rows)} {what} right", "reproduced" if ok == len(rows) else "refuted"

    return measure


CLAIMS = (
    Claim("Vonderfecht & Liu, Fingerprints of Super Resolution Networks (TMLR 2022)",
          "An image can be attributed to the SR model that made it",
          f"CNN accuracy above chance (binomial, p < {ALPHA})", _attribution),
    Claim("Vonderfecht & Liu (TMLR 2022)", "Models that differ only in their training seed are still told apart",
          f"seed-group accuracy above chance (binomial, p < {ALPHA})", _seed_groups),
    Claim("Vonderfecht & Liu (TMLR 2022)", "A learned classifier attributes better than the PRNU baseline",
          f"CNN accuracy above PRNU's (Fisher's exact test, p < {ALPHA})", _cnn_beats_prnu),
    Claim("Quan et al. (ICCV 2023)", "Ownership verification calls copies copies and independent models independent",
          "every verdict of the study right",
          _verdicts("verdicts", lambda r: r.get("verdict") == r.get("expected"), "verdicts")),
    Claim("model inversion (srprint's trace)", "Only the model that made an image reproduces it to its 8-bit floor",
          "every traced image attributed right", _verdicts("traces", lambda r: bool(r.get("correct")), "traces")),
    Claim("Asnani et al., Reverse Engineering of Generative Models (TPAMI 2023)",
          "The hyperparameters of an unseen model can be parsed from its images",
          "parsers beat chance on held-out models", lambda data: None),
)


def claims_rows(data: dict[str, Any]) -> list[list[str]]:
    """One row per claim: paper, claim, rule, our number, verdict (``not tested`` without its stage)."""
    rows = []
    for c in CLAIMS:
        got = c.measure(data)
        rows.append([c.paper, c.claim, c.rule, *(got if got is not None else ("-", "not tested"))])
    return rows
