"""Execute the example notebook(s) with nbclient; a cell that raises fails the docs build.

Usage: ``python docs/run_notebook.py [NOTEBOOK ...]`` (default: every notebook in docs/notebooks).
The executed copy is written to ``build/docs/notebooks/`` (never over the source).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def run(path: Path, out_dir: Path, timeout: int = 900) -> float:
    """Execute ``path`` in its own folder; return the seconds it took.

    Parameters
    ----------
    path : Path
        The notebook.
    out_dir : Path
        Where the executed copy is written.
    timeout : int
        Seconds one cell may take.

    Returns
    -------
    float
        Wall time.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell raises.
    """
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    where = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=where)
    client.execute()
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return time.perf_counter() - t0


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted((HERE / "notebooks").glob("*.ipynb"))
    for p in paths:
        print(f"{p.name}: executed in {run(p, HERE.parent / 'build' / 'docs' / 'notebooks'):.0f} s")
