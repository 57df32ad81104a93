"""Helpers shared by every CLI command module: JSON output, common options, error handling."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

stdout = Console()

DeviceOpt = typer.Option("auto", "--device", help="auto (CUDA if available), cpu or cuda[:N]")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout")
ExecutorOpt = typer.Option("local", "--executor", help="local (process pool) or ray")
JobsOpt = typer.Option(1, "--jobs", "-j", help="Parallel jobs (processes / Ray tasks)")
RayAddressOpt = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local instance)")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def executor_kwargs(executor: str, ray_address: str | None) -> dict[str, Any]:
    return {"address": ray_address} if executor == "ray" and ray_address else {}
