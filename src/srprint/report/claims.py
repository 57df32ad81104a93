"""The claims page: each headline claim of the reference studies, our number, and what it shows.

A claim is *reproduced* or *refuted* by a rule fixed here, before any number is seen: a test at
p < 0.01 (binomial against chance, Fisher's exact test between two methods), every verdict right,
every comparison won, or a rate whose Wilson 95 % interval clears its target (the lower bound, never
the point estimate: 11 of 11 right is a lower bound of 74 %, not 100 %). The numbers come from the
demo's run folders and summaries, or from the result
tables of the ``mini`` study (``bench/results``) where those are present (:func:`table_claims_data`).
A difference the test cannot tell from chance is *not shown* (too few images, not a refutation), and
a claim is *not tested* when the study did not run the stage that measures it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ALPHA = 0.01  # significance of the tests against chance
TRACE_TARGET = 0.97  # the trace benchmark's target for the Wilson lower bound of top-1 (issue 27)


@dataclass(frozen=True)
class Claim:
    paper: str
    claim: str
    rule: str
    measure: Callable[[dict[str, Any]], tuple[str, str] | None]  # study data -> (our number, verdict)


def _p(p: float) -> str:
    return f"p = {p:.1g}" if p > 0 else "p < 1e-300"


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
    return f"{100 * acc:.1f} % on {n} images (chance {100 * chance:.1f} %, {_p(p)})", verdict


def _seed_groups(data: dict[str, Any]) -> tuple[str, str] | None:
    groups = ((data.get("cnn") or {}).get("seed_groups") or {}).get("groups") or []
    if not groups:
        return None
    n = sum(int(g["n"]) for g in groups)
    k = sum(round(float(g["acc"]) * int(g["n"])) for g in groups)
    chance = sum(float(g["chance"]) * int(g["n"]) for g in groups) / n
    p, verdict = _above_chance(k, n, chance)
    return f"{100 * k / n:.1f} % on {n} images (chance {100 * chance:.1f} %, {_p(p)})", verdict


def _cnn_beats_prnu(data: dict[str, Any]) -> tuple[str, str] | None:
    from scipy.stats import fisher_exact

    cnn, prnu = data.get("cnn"), data.get("prnu")
    if not cnn or not prnu:
        return None
    n, m = int(cnn["n"]), int(prnu["n"])
    a, b = round(float(cnn["overall_acc"]) * n), round(float(prnu["overall_acc"]) * m)
    p = float(fisher_exact([[a, n - a], [b, m - b]]).pvalue)
    verdict = "not shown" if p >= ALPHA else "reproduced" if a / n > b / m else "refuted"
    return f"CNN {100 * a / n:.1f} % vs PRNU {100 * b / m:.1f} % ({_p(p)})", verdict


def wilson_interval(k: int, n: int) -> tuple[float, float]:
    """The Wilson score 95 % interval of ``k`` successes in ``n`` trials (:func:`srprint.rates.wilson_interval`)."""
    from ..rates import wilson_interval as wilson

    return wilson(k, n)


def _rate_at_least(key: str, target: float, what: str) -> Callable[..., Any]:
    """A claim on a rate: reproduced when the Wilson lower bound reaches ``target``, refuted when the upper
    bound stays below it, else not shown (too few images to tell)."""
    def measure(data: dict[str, Any]) -> tuple[str, str] | None:
        rows = data.get(key) or []
        if not rows:
            return None
        ok, n = sum(bool(r.get("correct")) for r in rows), len(rows)
        lo, hi = wilson_interval(ok, n)
        verdict = "reproduced" if lo >= target else "refuted" if hi < target else "not shown"
        return (f"{ok} of {n} {what} right ({100 * ok / n:.1f} %, Wilson 95 % interval "
                f"{100 * lo:.1f}-{100 * hi:.1f} %)", verdict)

    return measure


def _counts(verdicts: list[str]) -> str:
    out: dict[str, int] = {}
    for v in verdicts:
        out[v] = out.get(v, 0) + 1
    return ", ".join(f"{k} {n}" for k, n in sorted(out.items(), key=lambda kv: -kv[1]))


def _copy_verdicts(data: dict[str, Any], *, copies: bool) -> list[str]:
    """The verdicts on copies (``copies``) or on independent models: the study's, else the demo's."""
    key = "copies" if copies else "independent"
    if data.get(key):
        return [str(v) for v in data[key]]
    return [str(r.get("verdict")) for r in data.get("verdicts") or []
            if (r.get("expected") == "copy") == copies]


def _copies_verified(data: dict[str, Any]) -> tuple[str, str] | None:
    verdicts = _copy_verdicts(data, copies=True)
    if not verdicts:
        return None
    ok = verdicts.count("copy")
    extra = f" (other verdicts: {_counts([v for v in verdicts if v != 'copy'])})" if ok < len(verdicts) else ""
    return f"{ok} of {len(verdicts)} copies verified{extra}", "reproduced" if ok == len(verdicts) else "refuted"


def _no_false_copy(data: dict[str, Any]) -> tuple[str, str] | None:
    verdicts = _copy_verdicts(data, copies=False)
    if not verdicts:
        return None
    false = verdicts.count("copy")
    return (f"{false} of {len(verdicts)} independent pairs called a copy ({_counts(verdicts)})",
            "reproduced" if false == 0 else "refuted")


def _heldout_parsers(data: dict[str, Any]) -> tuple[str, str] | None:
    cells = [c for c in data.get("heldout") or [] if isinstance(c.get("n_test"), int) and c["n_test"] > 0
             and isinstance(c.get("accuracy"), (int, float)) and isinstance(c.get("chance"), (int, float))]
    if not cells:
        return None
    tests = [(c, *_above_chance(round(float(c["accuracy"]) * c["n_test"]), c["n_test"], float(c["chance"])))
             for c in cells]
    verdicts = [v for _, _, v in tests]
    verdict = "refuted" if "refuted" in verdicts else "not shown" if "not shown" in verdicts else "reproduced"
    worst, p, _ = max(tests, key=lambda t: t[1])
    shown = verdicts.count("reproduced")
    return (f"{shown} of {len(cells)} held-out parsers above chance; weakest: {worst.get('target')} with "
            f"{worst.get('holdout')} held out, {100 * float(worst['accuracy']):.1f} % on {worst['n_test']} images "
            f"(chance {100 * float(worst['chance']):.1f} %, {_p(p)})", verdict)


def _fen_beats_baselines(data: dict[str, Any]) -> tuple[str, str] | None:
    better = data.get("fen_better") or {}
    if not better:
        return None
    lost = [k for k, v in better.items() if not (isinstance(v, dict) and all(v.values()))]
    text = f"better on every metric in {len(better) - len(lost)} of {len(better)} comparisons"
    return text + (f" (not in {', '.join(lost)})" if lost else ""), "refuted" if lost else "reproduced"


CLAIMS = (
    Claim("Vonderfecht & Liu, Fingerprints of Super Resolution Networks (TMLR 2022)",
          "An image can be attributed to the SR model that made it",
          f"CNN accuracy above chance (binomial, p < {ALPHA})", _attribution),
    Claim("Vonderfecht & Liu (TMLR 2022)", "Models that differ only in their training seed are still told apart",
          f"seed-group accuracy above chance (binomial, p < {ALPHA})", _seed_groups),
    Claim("Vonderfecht & Liu (TMLR 2022)", "A learned classifier attributes better than the PRNU baseline",
          f"CNN accuracy above PRNU's (Fisher's exact test, p < {ALPHA})", _cnn_beats_prnu),
    Claim("Quan et al. (ICCV 2023)", "Ownership verification calls a copy of a model (pruned, quantised, permuted, "
          "fine-tuned) a copy", "every copy verified as a copy", _copies_verified),
    Claim("Quan et al. (ICCV 2023)", "Ownership verification never calls an independent model a copy",
          "no independent pair called a copy", _no_false_copy),
    Claim("model inversion (srprint's trace)", "Only the model that made an image reproduces it to its 8-bit floor",
          f"the Wilson 95 % lower bound of the share of traced images attributed right is at least "
          f"{100 * TRACE_TARGET:.0f} %", _rate_at_least("traces", TRACE_TARGET, "traces")),
    Claim("Asnani et al., Reverse Engineering of Generative Models (TPAMI 2023)",
          "The hyperparameters of an unseen model can be parsed from its images",
          f"every held-out parser above chance (binomial, p < {ALPHA}, per held-out cell)", _heldout_parsers),
    Claim("Asnani et al. (TPAMI 2023)", "The estimated fingerprint makes parsing better than without it",
          "FEN+PN better than the no-fingerprint and random-ground-truth baselines on every metric, in every "
          "comparison", _fen_beats_baselines),
)


def table_claims_data(tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The claims' inputs found in result tables (``attribution_mini``, ``verification``, ``trace``, parsing).

    Parameters
    ----------
    tables : dict
        Parsed result tables by name (``ResultTables.data``).

    Returns
    -------
    dict
        ``cnn`` / ``prnu`` evaluations, ``copies`` / ``independent`` verdict lists, ``traces`` rows with
        ``correct``, ``heldout`` cells and ``fen_better``; only the keys a table provides.
    """
    def rows(x: Any) -> list[dict[str, Any]]:
        return [r for r in x if isinstance(r, dict)] if isinstance(x, list) else []

    out: dict[str, Any] = {}
    att = tables.get("attribution_mini") or {}
    for key in ("cnn", "prnu"):
        ev = att.get(key)
        if isinstance(ev, dict) and all(isinstance(ev.get(k), (int, float)) for k in ("n", "overall_acc", "chance")):
            out[key] = ev
    ver = tables.get("verification") or {}
    out["copies"] = [str(r["verdict"]) for r in rows(ver.get("copy_rows")) if "error" not in r and "verdict" in r]
    out["independent"] = [str(r.get("verdict")) for r in rows(ver.get("independent_rows"))]
    out["traces"] = [{"correct": r.get("verdict") == "made by" and r.get("predicted") == r.get("model")}
                     for r in rows((tables.get("trace") or {}).get("rows"))]
    ht = (tables.get("parsing_mini_table") or {}).get("heldout_table")
    out["heldout"] = rows(ht.get("cells")) if isinstance(ht, dict) else []
    fen = (tables.get("parsing_mini_fen") or {}).get("fen_better_than_baselines")
    out["fen_better"] = fen if isinstance(fen, dict) else {}
    return {k: v for k, v in out.items() if v}


def claims_rows(data: dict[str, Any]) -> list[list[str]]:
    """One row per claim: paper, claim, rule, our number, verdict (``not tested`` without its stage).

    A measure that meets data of an unexpected shape (a malformed table) leaves its claim not tested.
    """
    rows = []
    for c in CLAIMS:
        try:
            got = c.measure(data)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError):
            got = ("unexpected content in the table", "not tested")
        rows.append([c.paper, c.claim, c.rule, *(got if got is not None else ("-", "not tested"))])
    return rows
