"""CLI: ``srprint fingerprint``, ``srprint verify [pair] | matrix``, ``srprint attack``, ``srprint registry``.

``verify`` is a command group whose default sub-command is ``pair``: ``srprint verify A B`` is
``srprint verify pair A B``; ``srprint verify matrix M1 M2 ...`` builds the matrix. (A model
literally named ``matrix``/``pair`` must be given with the explicit ``pair``.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from ..cli_common import (
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    positive_float,
    print_json,
    printed_as_json,
    stdout,
)
from ..errors import SrprintError
from .attack_cli import attack_app
from .fingerprint import Fingerprint, FingerprintSettings, is_fingerprint_file, load_fingerprint
from .references import check_trained_references, entry_arg, fingerprint_settings, reference_entries

TaskOpt = typer.Option(None, "--task", help="sr | denoise | deblur | deblur-motion | lowlight | derain "
                       "(default: the model's own task)")
SizeOpt = typer.Option(128, "--size", min=8, max=1024, help="Critical image side (paper: 128)")
ItersOpt = typer.Option(5000, "--iters", min=1, max=1_000_000,
                        help="Adam iterations (paper: 5000; about 6 min per model on 2 cores; 1000 is the "
                        "reduced setting bench/verification_quan.py compares with it)")
LambdaOpt = typer.Option(1e-3, "--lambda", callback=positive_float(allow_zero=True), help="Weight of the TV term")
LrOpt = typer.Option(0.1, "--lr", callback=positive_float(maximum=100.0), help="Adam learning rate")
KOpt = typer.Option(1, "--k", min=1, max=64, help="Number of critical images (features averaged)")
SeedOpt = typer.Option(0, "--seed", min=0, help="Seed of the Gaussian start")
MethodOpt = typer.Option("critical", "--method", help="critical | wo_tv | maxobj | projcl | poolcl")
VerifyMethodOpt = typer.Option("auto", "--method", help="auto (lineage for two models, critical for a fingerprint "
                               "file) | lineage (parameter lineage, then the critical-image test where the layers "
                               "do not line up) | quan (= critical: the paper's RGB+LGP chi-square rule alone) | "
                               "wo_tv | maxobj | projcl | poolcl")
ReferenceOpt = typer.Option(None, "--reference", help="Zoo folder(s) of models known to be independent, for the "
                            "lineage null (default: every zoo under $SRPRINT_HOME/zoos and the two models' own zoos)")
AlphaOpt = typer.Option(1e-3, "--alpha", min=1e-12, max=0.5, help="Significance level of the lineage test")
ZooOpt = typer.Option(None, "--zoo", help="Zoo folder to look model ids up in")


class _DefaultPairGroup(TyperGroup):
    """``verify A B`` means ``verify pair A B``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["pair", *args]
        return super().parse_args(ctx, args)


def _fingerprint(entry: Any, settings: FingerprintSettings, device: str) -> Fingerprint:
    from ..progress import make_progress
    from .fingerprint import fingerprint_model

    if device == "cpu" and settings.iters * settings.k * (settings.size / 128) ** 2 >= 2000:
        # measured on 2 cores: ~6 min per model at 5000 iterations of a 128-px critical image
        minutes = 6.0 * settings.iters * settings.k * (settings.size / 128) ** 2 / 5000
        sys.stderr.write(f"note: fingerprinting {entry.id} takes about {minutes:.0f} min on 2 CPU cores "
                         f"(--iters {settings.iters}, --size {settings.size}); --iters 1000 is the reduced setting\n")
    with make_progress() as prog:
        task = prog.add_task(f"fingerprint {entry.id}", total=settings.iters)
        return fingerprint_model(entry, settings, device, callback=lambda it: prog.update(task, completed=it + 1))


def _print_verdict(v: Any, prefix: str = "") -> None:
    """Print a critical-image verdict's line, coloured."""
    stdout.print(f"{prefix}[{'red' if v.is_copy else 'green'}]{v.summary_line()}[/]")


TrainReferencesOpt = typer.Option(
    0, "--train-references", min=0, max=32, metavar="K",
    help="Also train K networks of the suspect's architecture from random starts and add them to the references "
    "(cached under $SRPRINT_HOME/verification/trained-references; seconds each for a small network, minutes for a "
    "large one): small networks trained apart on one task can look related against other architectures "
    "(bench/results/verification_retrained.md)")


def _verify_lineage(src: Any, sus: Any, reference: list[Path] | None, alpha: float, as_json: bool,
                    device: str = "cpu", *, train_references: int = 0) -> None:
    from functools import partial

    from .fingerprint import load_entry_model
    from .ownership import verify_models
    from .trained_references import trained_references

    trained = trained_references(sus, train_references, device=device)
    v = verify_models(src, sus, load=partial(load_entry_model, device=device),
                      references=reference_entries(reference, [src, sus]) + trained, alpha=alpha)
    if printed_as_json(v.to_dict(), as_json):
        return
    colour = {"copy": "red", "shared parent": "yellow", "independent": "green"}.get(v.verdict, "white")
    stdout.print(f"source  {src.id}\nsuspect {sus.id}", highlight=False)
    stdout.print(f"[bold {colour}]{v.verdict.upper()}[/]  {v.explanation}", highlight=False, soft_wrap=True)
    lin = v.lineage or {}
    if not lin:
        pass  # the function stage decided: the weights were not compared
    elif "p_value" in lin:
        exact = (f"; population-free p = {lin['p_exact']:.3g} over {lin['exact_chains']} chains"
                 if lin.get("p_exact") is not None else "")
        stdout.print(f"  lineage: similarity {lin['similarity']:.5f}, coverage {lin['coverage']:.0%} "
                     f"({lin['paired_layers']} layers), p = {lin['p_value']:.3g} (null: {lin['null_n']} models, "
                     f"max {lin['null_max']:.3f}){exact}, {v.seconds:.1f}s", highlight=False)
    else:
        stdout.print(f"  lineage: coverage {lin.get('coverage', 0):.0%}: not comparable", highlight=False)
    f = v.functional or {}
    if f.get("agreement_db") is not None:
        null = (f"independent models: mean {f['null_mean_db']:.1f} dB, max {f['null_max_db']:.1f} dB over "
                f"{f['null_n']}, p = {f['p_value']:.3g}" if "p_value" in f else "no reference model of this task")
        stdout.print(f"  function: outputs agree at {f['agreement_db']:.1f} dB ({null}; same function from "
                     f"{f['floor_db']:.0f} dB): {f['decision']}", highlight=False)
    if f.get("reason"):
        stdout.print(f"  function: not comparable ({f['reason']})", highlight=False)
    for note in v.notes:
        stdout.print(f"[yellow]note:[/] {note}", highlight=False)


def fingerprint_cmd(
    model: str = typer.Argument(..., help="Zoo entry folder, or model id with --zoo"),
    out: Path = typer.Option(..., "-o", "--out", help="Fingerprint JSON (PNGs written next to it)"),
    task: str | None = TaskOpt, size: int = SizeOpt, iters: int = ItersOpt, lam: float = LambdaOpt,
    lr: float = LrOpt, k: int = KOpt, seed: int = SeedOpt, method: str = MethodOpt,
    zoo: Path | None = ZooOpt, device: str = DeviceOpt, force: bool = ForceOpt, as_json: bool = JsonOpt,
) -> None:
    """Solve for a model's critical image(s) and save its fingerprint."""
    from ..io.outputs import check_output_file, check_side_files

    target = out / "fingerprint.json" if out.is_dir() else out
    entry = entry_arg(model, zoo)
    inputs = [entry.weights_path, entry.path / "model.json"] if entry.path is not None else []
    check_output_file(target, force=force, inputs=inputs)

    def pngs(n: int) -> list[Path]:  # the critical images written next to the JSON
        return [target.with_name(f"{target.stem}.critical{i}.png") for i in range(n)]

    check_side_files(pngs(k), force=force, inputs=inputs)
    fp = _fingerprint(entry, fingerprint_settings(
        task, size=size, iters=iters, lam=lam, lr=lr, k=k, seed=seed, method=method, default_task=entry.task), device)
    check_side_files(pngs(len(fp.images)), force=force, inputs=inputs)  # a method may return more than --k
    path = fp.save(target)
    if as_json:
        print_json({"path": str(path), "features": fp.features.tolist(), "settings": fp.settings.to_dict(),
                    "model": fp.model, "objective": fp.objective, "seconds": fp.seconds})
        return
    stdout.print(f"wrote {path}  (objective {fp.objective.get('initial', float('nan')):.4g} -> "
                 f"{fp.objective.get('final', float('nan')):.4g}, {fp.seconds:.1f}s)", highlight=False)

verify_app = typer.Typer(cls=_DefaultPairGroup, no_args_is_help=True,
                         help="Is a suspect a copy of a source? `verify A B` (= `verify pair A B`) or "
                              "`verify matrix MODELS...`.")

@verify_app.command("pair")
def verify_pair(
    source: str = typer.Argument(..., help="Source: fingerprint JSON, zoo entry folder or id"),
    suspect: str = typer.Argument(..., help="Suspect: fingerprint JSON, zoo entry folder or id"),
    image: Path | None = typer.Option(None, "--image", "-o", "--out", help="Side-by-side PNG (critical-image "
                                      "methods; written only when named)"),
    task: str | None = TaskOpt, size: int = SizeOpt, iters: int = ItersOpt, lam: float = LambdaOpt,
    lr: float = LrOpt, k: int = KOpt, seed: int = SeedOpt, method: str = VerifyMethodOpt,
    reference: list[Path] | None = ReferenceOpt, alpha: float = AlphaOpt, train_references: int = TrainReferencesOpt,
    zoo: Path | None = ZooOpt, device: str = DeviceOpt, force: bool = ForceOpt, as_json: bool = JsonOpt,
) -> None:
    """Verdict for SOURCE vs SUSPECT: copy, shared parent, independent or undecided.

    Two models: the function first (outputs on probe inputs against independent models), then the
    lineage test on the aligned weights (seconds). Fingerprint files are compared by the critical-image
    rule (minutes: models are fingerprinted with the other side's settings)."""
    from ..io.outputs import check_output_file

    if image is not None:  # a side file follows the main output's policy; an unwritable folder only warns
        check_output_file(image, force=force, check_folder=False,
                          inputs=[source, suspect, *(Path(x) / "fingerprint.json" for x in (source, suspect))])
    method = "critical" if method == "quan" else method
    sides: list[Any] = [load_fingerprint(s) if is_fingerprint_file(s) else entry_arg(s, zoo)
                        for s in (source, suspect)]
    if method == "auto":
        method = "critical" if any(isinstance(s, Fingerprint) for s in sides) else "lineage"
    if method == "lineage":
        if any(isinstance(s, Fingerprint) for s in sides):
            raise SrprintError("--method lineage compares weights: give both sides as models (zoo entry "
                               "folders or ids), or pass --method quan for fingerprint files")
        _verify_lineage(sides[0], sides[1], reference, alpha, as_json, device, train_references=train_references)
        return
    check_trained_references(train_references, method)
    fixed = next((s.settings for s in sides if isinstance(s, Fingerprint)), None)
    first_entry = next((s for s in sides if not isinstance(s, Fingerprint)), None)
    settings = fixed or fingerprint_settings(task, size=size, iters=iters, lam=lam, lr=lr, k=k, seed=seed,
                                             method=method, default_task=first_entry.task if first_entry else "sr")
    if settings.method in ("projcl", "poolcl"):
        _verify_match(sides, settings, device, as_json)
    else:
        _verify_critical(sides, settings, device, image, as_json)


def _verify_match(sides: list[Any], settings: FingerprintSettings, device: str, as_json: bool) -> None:
    """``--method projcl | poolcl``: the suspect (a model) against the source's fingerprint."""
    from .baselines import match_verdict
    from .fingerprint import load_entry_model as load_model

    if isinstance(sides[1], Fingerprint):
        raise SrprintError(f"--method {settings.method}: give the suspect as a model, not a fingerprint")
    src = sides[0] if isinstance(sides[0], Fingerprint) else _fingerprint(sides[0], settings, device)
    mv = match_verdict(src, load_model(sides[1]))
    if as_json:
        print_json({**mv, "method": settings.method})
    else:
        stdout.print(f"{'COPY' if mv['is_copy'] else 'independent'}  match rate {mv['match_rate']:.2f} "
                     f"({mv['matches']}/{mv['n']}), p = {mv['p_value']:.3g}", highlight=False)


def _verify_critical(sides: list[Any], settings: FingerprintSettings, device: str, image: Path | None,
                     as_json: bool) -> None:
    """The critical-image rule; the side-by-side picture is a side file, written only when named (never a
    default file in the working folder): the verdict is printed first, an unwritable picture only warns."""
    from .verify import side_by_side, verify_fingerprints

    fps = [s if isinstance(s, Fingerprint) else _fingerprint(s, settings, device) for s in sides]
    v = verify_fingerprints(fps[0], fps[1])
    image_warning = None
    v.image = None
    if image is not None:
        try:
            v.image = str(side_by_side(fps[0], fps[1], v, path=image))
        except OSError as exc:
            image_warning = f"warning: side-by-side image not written ({exc.strerror or exc}: {image})"
    if as_json:
        print_json(v.to_dict())
    else:
        stdout.print(f"source  {fps[0].model.get('id')}\nsuspect {fps[1].model.get('id')}")
        _print_verdict(v)
        for note in v.notes:
            stdout.print(f"[yellow]note:[/] {note}", highlight=False)
        if v.image:
            stdout.print(f"image: {v.image}")
    if image_warning:
        sys.stderr.write(image_warning + "\n")


@verify_app.command("matrix")
def verify_matrix(
    models: list[str] = typer.Argument(..., help="Zoo entry folders or ids (with --zoo)"),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder (matrix.png, matrix.json, attacks.md)"),
    attacks: bool = typer.Option(False, "--attacks", help="Also attack each model and verify the copies"),
    task: str | None = TaskOpt, size: int = SizeOpt, iters: int = ItersOpt, lam: float = LambdaOpt,
    lr: float = LrOpt, k: int = KOpt, seed: int = SeedOpt,
    zoo: Path | None = ZooOpt, device: str = DeviceOpt, force: bool = ForceOpt, as_json: bool = JsonOpt,
) -> None:
    """Pairwise d/eta heat-map of MODELS and (with --attacks) the table of verification under attack."""
    from ..io.outputs import check_output_dir
    from .matrix import DEFAULT_ATTACKS, verification_matrix

    check_output_dir(out, replace=force, kind_marker="matrix.json")
    entries = [entry_arg(m, zoo) for m in models]
    tasks = {e.task for e in entries} if task is None else {task}
    if len(tasks) > 1:
        raise SrprintError(f"models have different tasks ({', '.join(sorted(tasks))}); pass --task")
    settings = fingerprint_settings(task, size=size, iters=iters, lam=lam, lr=lr, k=k, seed=seed, method="critical",
                                    default_task=tasks.pop())
    res = verification_matrix(entries, settings, out, attacks=DEFAULT_ATTACKS if attacks else (), device=device)
    if printed_as_json(res, as_json):
        return
    stdout.print(f"{len(entries)} models, {res['false_matches']} independent pairs matched; "
                 f"heat-map {out / 'matrix.png'}")
    for name, rate in res.get("success_rate", {}).items():
        stdout.print(f"  {name:9s} verified {rate:.0%}")


reg_app = typer.Typer(no_args_is_help=True, help="Registry of your models' fingerprints "
                                                 "($SRPRINT_HOME/fingerprints.sqlite).")
RegOpt = typer.Option(None, "--registry", help="SQLite file (default $SRPRINT_HOME/fingerprints.sqlite)")

@reg_app.command("add")
def registry_add(
    model: str = typer.Argument(..., help="Zoo entry folder / id, or a fingerprint JSON"),
    name: str = typer.Option(..., "--name", help="Name to register it under"),
    replace: bool = typer.Option(False, "--replace", help="Replace a fingerprint already registered as NAME"),
    task: str | None = TaskOpt, size: int = SizeOpt, iters: int = ItersOpt, lam: float = LambdaOpt,
    lr: float = LrOpt, k: int = KOpt, seed: int = SeedOpt, method: str = MethodOpt,
    zoo: Path | None = ZooOpt, registry: Path | None = RegOpt, device: str = DeviceOpt,
) -> None:
    """Fingerprint MODEL (or take a fingerprint file) and register it as NAME."""
    from .fingerprint_store import Registry

    if is_fingerprint_file(model):
        fp = load_fingerprint(model)
    else:
        e = entry_arg(model, zoo)
        fp = _fingerprint(e, fingerprint_settings(
            task, size=size, iters=iters, lam=lam, lr=lr, k=k, seed=seed, method=method, default_task=e.task), device)
    if fp.settings.method in ("projcl", "poolcl"):
        raise SrprintError("the registry stores critical-image fingerprints (methods critical, wo_tv, maxobj)")
    Registry(registry).add(name, fp, replace=replace)
    stdout.print(f"registered {name} ({fp.model.get('id')})", highlight=False)

@reg_app.command("check")
def registry_check(
    suspect: str = typer.Argument(..., help="Zoo entry folder / id, or a fingerprint JSON"),
    zoo: Path | None = ZooOpt, registry: Path | None = RegOpt, device: str = DeviceOpt,
    index: Path | None = typer.Option(None, "--index", help="Lineage index folder: also report what it says "
                                      "about the suspect and which registered owners its answer names"),
    as_json: bool = JsonOpt,
) -> None:
    """Compare a suspect with every registered owner: by parameter lineage where the owner's model is on
    disk (seconds), else by the critical-image rule (the suspect is fingerprinted once per setting)."""
    from .registry_check import check_suspect_model, index_answer, open_registry

    reg = open_registry(registry)
    if is_fingerprint_file(suspect):
        if index is not None:
            raise SrprintError("--index looks a model up: give the suspect model, not a fingerprint file")
        results = reg.check(load_fingerprint(suspect))
        if printed_as_json([{"name": n, **v.to_dict()} for n, v in results], as_json):
            return
        if not results:
            stdout.print("registry has no fingerprint comparable with this suspect")
        for n, v in results:
            _print_verdict(v, f"{n:30s} ")
        return
    e = entry_arg(suspect, zoo)
    found = index_answer(reg, e, index) if index is not None else None  # a bad index fails before the checks
    out = check_suspect_model(reg, e, fingerprint=lambda settings: _fingerprint(e, settings, device), device=device)
    rows = [{"name": n, **v.to_dict()} for n, v in out]
    if printed_as_json(rows if found is None else {"owners": rows, "lineage": found}, as_json):
        return
    if not out:
        stdout.print("registry has no owner comparable with this suspect")
    for n, v in out:
        stdout.print(f"{n:30s} {v.verdict.upper():14s} {v.explanation}", highlight=False, soft_wrap=True)
    if found is not None:
        _print_index_answer(found)


def _print_index_answer(res: dict[str, Any]) -> None:
    fw = "" if res.get("fwer") is None else f" (family-wise error rate {res['fwer']:.2g})"
    stdout.print(f"lineage index: {res['text']}{fw}", highlight=False, soft_wrap=True)
    names = [f"{o['name']} ({o['relation']})" for o in res.get("owners") or []]
    stdout.print(f"  registered owners it names: {', '.join(names) or 'none'}", highlight=False, soft_wrap=True)

@reg_app.command("list")
def registry_list(registry: Path | None = RegOpt, as_json: bool = JsonOpt) -> None:
    """List registered fingerprints."""
    from .fingerprint_store import Registry

    rows = Registry(registry).list()
    if printed_as_json([r.to_dict() for r in rows], as_json):
        return
    for r in rows:
        s = r.settings
        stdout.print(f"{r.name:30s} {r.model_id:40s} {s['task']} {s['size']}px {s['iters']}it {s['method']} "
                     f"{r.added}", highlight=False)
    stdout.print(f"[bold]{len(rows)} fingerprints[/]")

@reg_app.command("remove")
def registry_remove(name: str = typer.Argument(..., help="Registered name to remove"),
                    registry: Path | None = RegOpt) -> None:
    """Remove a registered fingerprint."""
    from .fingerprint_store import Registry

    Registry(registry).remove(name)
    stdout.print(f"removed {name}")


def register(app: typer.Typer) -> None:
    """Add ``fingerprint``, ``verify``, ``attack`` and ``registry`` to the srprint app (in this order)."""
    app.command("fingerprint")(fingerprint_cmd)
    app.add_typer(verify_app, name="verify")
    app.add_typer(attack_app, name="attack")
    app.add_typer(reg_app, name="registry")
