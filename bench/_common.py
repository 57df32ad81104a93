"""Shared helpers for benchmark scripts: machine/commit metadata and result writing."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
_START_LOAD = os.getloadavg()  # taken when the benchmark starts (this module is imported first)


def find_mini_render() -> Path | None:
    """Newest ``$SRPRINT_HOME/renders/mini-*`` render (by ``manifest.parquet`` mtime); None if there is none."""
    from srprint.config import srprint_home

    cands = [p for p in (srprint_home() / "renders").glob("mini-*") if (p / "manifest.parquet").is_file()]
    return max(cands, key=lambda p: (p / "manifest.parquet").stat().st_mtime) if cands else None


def machine_info() -> dict[str, Any]:
    import torch

    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=Path(__file__).parent,
                check=False,
            ).stdout.strip()
            or None
        )
    except OSError:
        commit = None
    try:  # results made by code that is not committed yet must say so
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "bench/*.py"],
                capture_output=True,
                text=True,
                cwd=Path(__file__).parent.parent,
                check=False,
            ).stdout.strip()
        )
    except OSError:
        dirty = None
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": _START_LOAD,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def write_results(name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine_info(), **data}
    data["machine"]["load_average_at_end"] = os.getloadavg()
    jp, mp = RESULTS / f"{name}.json", RESULTS / f"{name}.md"
    jp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    m = data["machine"]
    header = (
        f"_commit {m['git_commit']}{' plus uncommitted changes to src/ or bench/' if m.get('git_dirty') else ''}, "
        f"{m['date']}, {m['cpu']} ({m['cpu_count']} cores), "
        f"torch {m['torch']}, load average {m['load_average_at_start'][0]:.1f} at start / "
        f"{m['load_average_at_end'][0]:.1f} at end_\n\n"
    )
    mp.write_text(markdown.split("\n", 1)[0] + "\n\n" + header + markdown.split("\n", 1)[1])
    return jp, mp


def classifier_config(args: Any, **fields: Any) -> Any:
    """The engine's ClassifierConfig of a bench's command-line arguments, updated with ``fields``.

    Options a bench does not define, or leaves unset (``None``), keep the library's defaults.
    """
    from srprint.classify.run_folder import ClassifierConfig

    names = {"backbone": "backbone", "input": "input", "crop": "crop", "batch_size": "batch_size",
             "head_epochs": "head_epochs", "full_epochs": "epochs", "lr": "lr", "max_per_class": "max_per_class",
             "jpeg_augment": "jpeg_augment", "jpeg_quality_min": "jpeg_quality_min", "dct_eps": "dct_eps",
             "patience": "patience"}
    values = {k: getattr(args, a) for k, a in names.items() if getattr(args, a, None) is not None}
    return ClassifierConfig(**{**values, **fields})
