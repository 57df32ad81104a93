"""Helpers shared by every CLI command module: JSON output, common options, validation, aliases."""

from __future__ import annotations

import functools
import inspect
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .config import resolves_device
from .errors import SrprintError

# soft_wrap: piped output is never broken mid-sentence at 80 columns (the terminal wraps, not rich)
stdout = Console(soft_wrap=True)

@resolves_device
def _resolve_device_option(device: str) -> str:
    """A command's ``--device``, resolved by the one device rule: commands receive ``cpu`` or ``cuda[:N]``."""
    return device


DeviceOpt = typer.Option("auto", "--device", callback=_resolve_device_option,
                         help="auto (CUDA if available), cpu or cuda[:N]")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout (one compact line)")
ExecutorOpt = typer.Option("local", "--executor", help="local (process pool) or ray")
JobsOpt = typer.Option(1, "--jobs", "-j", min=1, max=256, help="Parallel jobs (processes / Ray tasks)")
RayAddressOpt = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local instance)")
WhereOpt = typer.Option(None, "--where", help="Filter rows, e.g. 'scale=4,loss!=L1' (KEY=VALUE, KEY!=VALUE, A|B)")
ForceOpt = typer.Option(False, "--force", help="Overwrite an existing output file")
SeedOpt = typer.Option(0, "--seed", min=0, help="Random seed (same seed and config, same numbers)")
BatchSizeOpt = typer.Option(16, "--batch-size", min=1, max=4096, help="Images per training step")

# Old spellings kept for one release as hidden aliases: rewritten before parsing, with a warning.
RENAMED_OPTIONS: dict[str, str] = {
    "--max-per-model": "--max-per-class",
    "--holdout-models": "--holdout",
    "--test-split": "--split",
    "--batch": "--batch-size",
}


def rewrite_renamed_options(argv: list[str]) -> list[str]:
    """Replace deprecated option spellings in ``argv`` by their current names (warning on stderr)."""
    out = []
    for arg in argv:
        name, eq, value = arg.partition("=")
        if name in RENAMED_OPTIONS:
            new = RENAMED_OPTIONS[name]
            sys.stderr.write(f"warning: {name} is deprecated; use {new}\n")
            arg = new + eq + value
        out.append(arg)
    return out


def positive_float(*, allow_zero: bool = False, maximum: float | None = None) -> Callable[[float | None], float | None]:
    """A typer callback that accepts a finite float > 0 (or >= 0) and <= ``maximum``.

    typer's ``min``/``max`` let ``nan`` through (every comparison with nan is false), hence this.
    """

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        low_ok = value >= 0 if allow_zero else value > 0
        if not math.isfinite(value) or not low_ok or (maximum is not None and value > maximum):
            bound = ">= 0" if allow_zero else "> 0"
            top = f" and <= {maximum:g}" if maximum is not None else ""
            raise typer.BadParameter(f"{value!r} is not a finite number {bound}{top}")
        return value

    return check


def resolve_model_arg(model: str, zoo: Path | None) -> Path:
    """A model given as an entry folder, or as an id inside ``--zoo``.

    Raises
    ------
    SrprintError
        On: "model … is not a zoo entry folder; pass --zoo DIR to look it up by id".
    """
    p = Path(model)
    if p.is_dir():
        return p
    if zoo is not None:
        return zoo / model
    raise SrprintError(f"model {model!r} is not a zoo entry folder; pass --zoo DIR to look it up by id")


def print_json(obj: Any) -> None:
    """Write ``obj`` as one compact JSON line on stdout (never wrapped, parseable by ``jq``)."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def printed_as_json(obj: Any, as_json: bool) -> bool:
    """Print ``obj`` as JSON when the command got ``--json``; return whether it did.

    Commands end with ``if printed_as_json(result, as_json): return``, then print their text.
    """
    if as_json:
        print_json(obj)
    return as_json


def print_markdown_or_json(obj: Any, markdown: Path, *, as_json: bool) -> None:
    """Print ``obj`` as JSON (``--json``), or else the Markdown table the command wrote to ``markdown``."""
    if not printed_as_json(obj, as_json):
        stdout.print(markdown.read_text(), highlight=False)


def executor_kwargs(executor: str, ray_address: str | None) -> dict[str, Any]:
    return {"address": ray_address} if executor == "ray" and ray_address else {}


def show_flags_as_flags() -> None:
    """Help shows ``--json`` rather than ``--json <bool>``: a flag takes no value.

    typer 0.29's rich help prints every option's type, flags included, which reads as if
    ``--json true`` were accepted (it is not).
    """
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_srprint_flags", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag:
            return None
        return original(self, ctx)

    display_type_rich._srprint_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def config_options(param: str, options: dict[str, tuple[Any, Any]], build: Callable[..., Any]
                   ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator that gives a command a group of options, received as one config object.

    The wrapped command declares a parameter ``param``; its signature, as typer reads it, loses
    that parameter and gains ``options`` (name -> (type, typer option)) after its own. At call time
    the option values go to ``build(**values)`` and the result is passed as ``param``, so a bad
    combination is refused before the command starts.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(command)
        own = [p for p in sig.parameters.values() if p.name != param]
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=kind)
                 for name, (kind, opt) in options.items()]

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in options}
            return command(**kwargs, **{param: build(**values)})

        # typer resolves the annotations it sees: not the injected config's (a type-checking-only import)
        run.__annotations__ = {k: v for k, v in command.__annotations__.items() if k != param}
        run.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added)
        return run

    return decorate


def _executor_settings(*, executor: str, jobs: int, ray_address: str | None) -> dict[str, Any]:
    return {"executor": executor, "jobs": jobs, **executor_kwargs(executor, ray_address)}


# --executor, --jobs and --ray-address, received as one ``run_on`` dict of keyword arguments for the
# library function (``executor=``, ``jobs=`` and, for a Ray cluster, ``address=``)
executor_options = config_options(
    "run_on",
    {"executor": (str, ExecutorOpt), "jobs": (int, JobsOpt), "ray_address": (str | None, RayAddressOpt)},
    _executor_settings,
)
