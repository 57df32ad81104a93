"""Offline evaluation of rival nulls on ``trace_rival_dev`` rows (issue 27; dev corpus only, nothing scored).

For each dev file (maker ``M``, condition) and candidate ``C``, the rival p-value of ``C``'s statistic
against a null built from the ``cal`` rows by one of the rules below. Wrong models (``C != M``, rivals: every
candidate but ``C`` and ``M``, as in the bench's open set) should get p-values no smaller than uniform ones;
the true model (``C == M``, rivals: every other candidate) should get small ones. A *pass* is what
:func:`srprint.attribution.jpeg_decide._rival_passed` requires: ``p < alpha`` and ``s`` below the null's minimum.
Writes ``bench/results/trace_rival_dev.{json,md}``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import write_results  # noqa: E402
from trace_rival_dev import ITEMS, NAME  # noqa: E402

ALPHA = 1e-3
Null = Callable[[str, list[str]], list[tuple[float, int]]]  # (C, rivals) -> [(s, bicubic violations)]
Rule = Callable[[str, list[str], float, int], "tuple[float, float] | None"]  # -> (p, null minimum)
MIN_INFORMATIVE = 16


def _rows() -> tuple[dict[tuple[str, str, str, str], dict[str, Any]], list[str]]:
    rows = [json.loads(line) for line in ITEMS.read_text().splitlines()]
    by = {(r["kind"], r["image"], r["maker"], r["condition"]): r for r in rows}
    models = sorted({r["maker"] for r in rows})
    return by, models


def make_nulls(by: dict, models: list[str], n_single: int, n_double: int) -> dict[str, Rule]:
    """The rival rules compared: each maps (candidate, rivals in order, s, bicubic) to (p, null minimum)."""

    def cal(k: int, maker: str, cond: str, c: str) -> tuple[float, int] | None:
        r = by.get(("cal", str(k), maker, cond))
        return None if r is None else (r["s"][c], r["bicubic"])

    def round_robin(n: int, cond: str, informative: bool = False) -> Null:
        return lambda c, rv: [v for k in range(n) if (v := cal(k, rv[k % len(rv)], cond, c)) is not None
                              and (not informative or v[1] >= MIN_INFORMATIVE)]

    def every(n: int, cond: str) -> Null:
        return lambda c, rv: [v for k in range(n) for m in rv if (v := cal(k, m, cond, c)) is not None]

    def pooled(null: Null) -> Rule:
        def rule(c: str, rv: list[str], s: float, bic: int) -> tuple[float, float] | None:
            vals = null(c, rv)
            return None if len(vals) < 3 else (t_pvalue(s, [v for v, _ in vals]), min(v for v, _ in vals))
        return rule

    def given_bicubic(null: Null) -> Rule:
        def rule(c: str, rv: list[str], s: float, bic: int) -> tuple[float, float] | None:
            vals = null(c, rv)
            return None if len(vals) < 4 else (reg_pvalue(s, bic, vals), min(v for v, _ in vals))
        return rule

    def per_maker(n: int) -> Rule:
        # intersection-union: C must come closer to this file than to EACH rival's outputs (the largest p)
        def rule(c: str, rv: list[str], s: float, bic: int) -> tuple[float, float] | None:
            ps = [pooled(every(n, "q75"))(c, [m], s, bic) for m in rv]
            return None if any(p is None for p in ps) else (max(p[0] for p in ps), min(p[1] for p in ps))
        return rule

    def between_makers(n: int) -> Rule:
        # a maker not among the rivals is a new draw of the maker effect: the predictive spread of log s on a new
        # maker's image is the between-maker variance (pooled over every ordered pair of the calibration pool
        # but the maker left out) plus the within-maker variance; df = the pairs' count less the candidates'
        pool_all = sorted({m for k in by for m in [k[2]]})

        def rule(c: str, rv: list[str], s: float, bic: int) -> tuple[float, float] | None:
            from scipy.stats import t as student_t

            pool = [m for m in pool_all if m in rv or m == c]
            means, within, dfw, centred = {}, [], 0, []
            for a in pool:
                mu = {}
                for b in pool:
                    if a == b:
                        continue
                    z = np.log([v for v, _ in every(n, "q75")(a, [b])])
                    mu[b] = z.mean()
                    within += list(z - z.mean())
                    dfw += len(z) - 1
                    if a == c:
                        means[b] = z.mean()
                if len(mu) > 1:
                    m_a = np.mean(list(mu.values()))
                    centred += [v - m_a for v in mu.values()]
            sw2 = float(np.sum(np.square(within)) / max(dfw, 1))
            dfb = len(centred) - len(pool)
            if dfb < 1:
                return None
            sb2 = float(np.sum(np.square(centred)) / dfb)  # includes within/n, conservative
            mean = float(np.mean(list(means.values())))
            sd = math.sqrt(sb2 * (1 + 1 / len(means)) + sw2)
            vals = [v for v, _ in every(n, "q75")(c, rv)]
            return float(student_t.cdf((math.log(s) - mean) / sd, df=dfb)), min(vals)
        return rule

    n8 = min(8, n_double)
    more = {f"{n_single} images, q75 once, round robin": pooled(round_robin(n_single, "q75")),
                f"{n_single} images, every rival, t given log bicubic": given_bicubic(every(n_single, "q75"))}
    return {
        "current (8 images, q75 once, round robin)": pooled(round_robin(8, "q75")),
        "8 images, q90 then q75, round robin": pooled(round_robin(n8, "double")),
        "8 images, once and twice (16 values)": pooled(lambda c, rv: round_robin(8, "q75")(c, rv)
                                                       + round_robin(n8, "double")(c, rv)),
        "8 images, informative only (bicubic >= 16)": pooled(round_robin(8, "q75", informative=True)),
        "8 images, q75 once, every rival": pooled(every(8, "q75")),
        "8 images, every rival, t given log bicubic": given_bicubic(every(8, "q75")),
        "8 images, once and twice, every rival": pooled(lambda c, rv: every(8, "q75")(c, rv)
                                                        + every(n8, "double")(c, rv)),
        **(more if n_single > 8 else {}),
        f"{n_single} images, each rival on its own (largest p)": per_maker(n_single),
        f"{n_single} images, between-maker variance": between_makers(n_single),
    }


def t_pvalue(s: float, null: list[float]) -> float:
    """The trace's lower-tail Student-t predictive p of ``log s`` (trace_calibration.null_test)."""
    from srprint.attribution.trace_calibration import null_test

    return null_test(s, null)["p_value"]


def reg_pvalue(s: float, bic: int, null: list[tuple[float, int]]) -> float:
    """Lower-tail predictive p of ``log s`` given ``log(bicubic + 1/2)``, from a least-squares line on the null."""
    from scipy.stats import t as student_t

    y = np.log([v for v, _ in null])
    x = np.log([b + 0.5 for _, b in null])
    n, xm = len(y), float(x.mean())
    sxx = float(((x - xm) ** 2).sum())
    b1 = float(((x - xm) * (y - y.mean())).sum() / sxx)
    b0 = float(y.mean() - b1 * xm)
    sd = math.sqrt(float(((y - b0 - b1 * x) ** 2).sum()) / (n - 2))
    x0 = math.log(bic + 0.5)
    se = sd * math.sqrt(1 + 1 / n + (x0 - xm) ** 2 / sxx)
    return float(student_t.cdf((math.log(s) - (b0 + b1 * x0)) / se, df=n - 2))


def evaluate(by: dict, models: list[str], rules: dict[str, Rule]) -> dict[str, Any]:
    """Per rule and condition: wrong-model p counts and passes, true-model passes."""
    dev = [r for (kind, *_), r in by.items() if kind == "dev"]
    out: dict[str, Any] = {}
    for name, rule in rules.items():
        for cond in ("q75", "double"):
            wrong, true, wrong_pass, true_pass, worst = [], [], 0, 0, None
            for r in dev:
                if r["condition"] != cond or r["bicubic"] < MIN_INFORMATIVE:  # no statistic (jpeg_decide)
                    continue
                for c in models:
                    rv = [m for m in models if m != c and (c == r["maker"] or m != r["maker"])]
                    got = rule(c, rv, r["s"][c], r["bicubic"])
                    if got is None:
                        continue
                    p, low = got
                    ok = p < ALPHA and r["s"][c] < low
                    if c == r["maker"]:
                        true.append(p)
                        true_pass += ok
                    else:
                        wrong.append(p)
                        wrong_pass += ok
                        if worst is None or p < worst[0]:
                            worst = (p, f"{c} on {r['maker']} {r['image']} ({r['v'][c]} of {r['bicubic']})")
            w = np.asarray(wrong)
            out[f"{name} | {cond}"] = {
                "wrong_n": len(wrong), "wrong_pass": wrong_pass, "wrong_min_p": float(w.min()) if len(w) else None,
                "wrong_p<0.01": int((w < 0.01).sum()), "wrong_p<0.05": int((w < 0.05).sum()),
                "worst": worst[1] if worst else None,
                "true_n": len(true), "true_pass": true_pass,
                "true_median_p": float(np.median(true)) if true else None}
    return out


def markdown(res: dict[str, Any], meta: dict[str, Any]) -> str:
    """The table (title first)."""
    lines = ["# Rival null at x2 JPEG: wrong and true models' rival p-values on a dev corpus (issue 27)", "",
             f"Dev files: {meta['dev_files']} (last Kodak24 photos, 96-px crops, 4 makers, q75 and q90-then-75). "
             f"Calibration rows: {meta['cal_rows']}. Files where bicubic leaves fewer than {MIN_INFORMATIVE} "
             "coefficients outside get no statistic (jpeg_decide) and are not counted. Wrong: candidate is not the "
             "maker, rivals = the other candidates but the maker (open set). True: the maker, rivals = every other "
             "candidate. Pass: "
             f"p < {ALPHA:g} and s below the null's minimum. Uniform p would put 1 % / 5 % of wrong p below "
             "0.01 / 0.05.", "",
             "| null rule | condition | wrong: n, pass, p<0.01, p<0.05, min p | true: n, pass, median p |",
             "|---|---|---|---|"]
    for key, d in res.items():
        rule, cond = key.split(" | ")
        lines.append(f"| {rule} | {cond} | {d['wrong_n']}, **{d['wrong_pass']}**, {d['wrong_p<0.01']}, "
                     f"{d['wrong_p<0.05']}, {d['wrong_min_p']:.2g} ({d['worst']}) | {d['true_n']}, "
                     f"**{d['true_pass']}**, {d['true_median_p']:.2g} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    by, models = _rows()
    n_single = 1 + max(int(k[1]) for k in by if k[0] == "cal" and k[3] == "q75")
    n_double = 1 + max((int(k[1]) for k in by if k[0] == "cal" and k[3] == "double"), default=-1)
    res = evaluate(by, models, make_nulls(by, models, n_single, n_double))
    meta = {"dev_files": sum(k[0] == "dev" for k in by), "cal_rows": sum(k[0] == "cal" for k in by),
            "models": models}
    photo = photo_nulls(models)
    rules = ("round robin", "every rival", "closest rival")
    verdicts = {rule: decisions(by, models, photo, rule) for rule in rules} if photo else {}
    md = markdown(res, meta) + verdict_lines(verdicts)
    write_results(NAME, {"meta": meta, "results": res, "verdicts": verdicts}, md)
    print(md)


def photo_nulls(models: list[str]) -> dict[tuple[str, str], list[float]]:
    """The photo nulls at the x2 window (cached by ``trace_rival_seed.py --photo``); empty when one is missing."""
    from _common import jpeg_round_trip
    from srprint.attribution.jpeg_decide import calibration_path
    from srprint.attribution.trace import TraceSettings
    from srprint.zoo.entry import Zoo
    from srprint.zoo.study import pretrained_zoo_dir
    from trace_rival_dev import QUALITIES

    by_id = {e.id: e for e in Zoo(pretrained_zoo_dir()).entries()}
    settings = TraceSettings()
    out = {}
    info, _ = jpeg_round_trip(np.full((16, 16, 3), 128, np.uint8), QUALITIES["q75"])
    for m in models:
        path = calibration_path(by_id[m], info, settings.jpeg_window(2), settings)
        if not path.is_file():
            return {}
        out[(m, "q75")] = json.loads(path.read_text())["statistics"]
    return out


def verdict_lines(verdicts: dict[str, Any]) -> str:
    """The verdicts' table (empty without photo nulls)."""
    if not verdicts:
        return ""
    lines = ["", "## Verdicts on the dev files (jpeg_decide's rules as they are; q 75 and double together)", "",
             "Photo nulls computed by the trace's code, own and rival nulls from the cal rows, the rules of "
             "jpeg_decide run unchanged (own_tests, rival_tests, decide_jpeg) on each informative file: with every "
             "candidate (closed) and without the maker (open). `round robin`: method 7; `every rival`: method 8; "
             "`closest rival`: only the rival whose outputs the candidate fits best (8 values).", "",
             "| rival null | files (uninformative) | closed set: true model named | closed set: wrong model named "
             "| open set: a model named (false attribution) |", "|---|---|---|---|---|"]
    for rule, v in verdicts.items():
        n = v["files"] - v["uninformative"]
        lines.append(f"| {rule} | {v['files']} ({v['uninformative']}) | {v['closed_right']}/{n} | "
                     f"{v['closed_wrong']}/{n} | {v['open_false']}/{n}: {'; '.join(v['false'])} |")
    return "\n".join(lines) + "\n"



def decisions(by: dict, models: list[str], photo: dict[tuple[str, str], list[float]],
              rival_rule: str) -> dict[str, Any]:
    """The trace's verdict (``jpeg_decide``'s rules, run as they are) on every dev file, closed and open set.

    The calibrations come from the ``cal`` rows (own and rival nulls) and ``photo`` (photo nulls by (model,
    condition's tables)); ``rival_rule``: ``round robin`` (method 7) or ``every rival`` (method 8).
    """
    from types import SimpleNamespace

    from srprint.attribution import jpeg_decide as jd
    from srprint.attribution.trace_calibration import null_test

    ent = {m: SimpleNamespace(id=m, scale=2) for m in models}
    out = {"closed_right": 0, "closed_wrong": 0, "open_false": 0, "files": 0, "false": [], "uninformative": 0}
    for (kind, img, maker, cond), r in sorted(by.items()):
        if kind != "dev":
            continue
        tables = "q75"  # a q 75 file and a q 90-then-75 file carry the same tables

        def calibration(entry, model, info, side, settings, *, own=False, rivals=None, use_cache=True,
                        tables=tables):
            if own:
                return [by[("cal", str(k), entry.id, tables)]["s"][entry.id] for k in range(8)]
            if rivals:
                rv = [d.id for d, _ in rivals]
                if rival_rule == "closest rival":  # only the rival whose outputs it fits best (lowest mean log s)
                    per = [[by[("cal", str(k), d, tables)]["s"][entry.id] for k in range(8)] for d in rv]
                    return min(per, key=lambda vals: float(np.mean(np.log(np.maximum(vals, 1e-30)))))
                if rival_rule == "every rival":
                    return [by[("cal", str(k), d, tables)]["s"][entry.id] for k in range(8) for d in rv]
                return [by[("cal", str(k), rv[k % len(rv)], tables)]["s"][entry.id] for k in range(8)]
            return photo[(entry.id, tables)]

        jd_cal, jd.jpeg_calibration = jd.jpeg_calibration, calibration
        try:
            out["files"] += 1
            if r["bicubic"] < jd.MIN_INFORMATIVE:
                out["uninformative"] += 1
                continue
            for setting in ("closed", "open"):
                cands = [m for m in models if setting == "closed" or m != maker]
                rows = []
                for c in cands:
                    s = r["s"][c]
                    test = null_test(s, photo[(c, tables)]) if s < 1 else jd.UNCALIBRATED
                    rows.append({"id": c, "violations": r["v"][c], "n": r["n"], "bicubic_violations": r["bicubic"],
                                 "ratio": s, "crop": [0, 0, 96], **test})
                es = [ent[c] for c in cands]
                jd.own_tests(rows, ALPHA, None, es, lambda e: None, settings=None)
                jd.rival_tests(rows, ALPHA, None, es, lambda e: None, settings=None)
                v = jd.decide_jpeg(rows, ALPHA)
                named = v.get("model") if v["verdict"] == "made by" else None
                if setting == "closed":
                    out["closed_right"] += named == maker
                    out["closed_wrong"] += named is not None and named != maker
                elif named is not None:
                    out["open_false"] += 1
                    out["false"].append(f"{named} for {maker}'s {img} {cond}")
        finally:
            jd.jpeg_calibration = jd_cal
    return out


if __name__ == "__main__":
    main()
