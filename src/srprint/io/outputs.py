"""One output policy for every command that writes: never replace what the user did not name as output.

A command checks its outputs *before* it starts work: an existing file is refused unless the user
passes ``--force``; a folder output must be empty, absent, or already of the kind the command
writes (``kind_marker``). The checks raise :class:`~srprint.errors.OutputError` with one line that
says what would be overwritten and how to allow it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError


def _check_parent(path: Path) -> None:
    for parent in [path.parent, *path.parent.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"cannot write {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(f"cannot write {path}: {parent} is not writable")
            return


def check_output_file(path: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = (),
                      flag: str = "--force") -> Path:
    """Check that ``path`` may be written as a new output file.

    Parameters
    ----------
    path : str or Path
        The output file the user named.
    force : bool
        Allow replacing an existing file.
    inputs : iterable of paths
        The command's inputs; an output that is one of them is always refused.
    flag : str
        The option that allows replacing the file, named in the message.

    Returns
    -------
    Path
        The output file, as a :class:`~pathlib.Path` (nothing is written yet).

    Raises
    ------
    OutputError
        If ``path`` is an input, a folder, exists (without ``force``), sits under a file, or its
        folder is not writable.
    """
    p = Path(path)
    for src in inputs:
        if Path(src).exists() and p.exists() and p.resolve() == Path(src).resolve():
            raise OutputError(f"refusing to overwrite the input {p}")
    if p.is_dir():
        raise OutputError(f"{p} is a folder; name an output file")
    if p.exists() and not force:
        raise OutputError(f"{p} exists and would be overwritten; choose another output or pass {flag}")
    _check_parent(p)
    return p


def check_output_dir(path: str | Path, *, replace: bool = False, kind_marker: str | None = None,
                     flag: str = "--force") -> Path:
    """Check that ``path`` may be used as an output folder.

    Parameters
    ----------
    path : str or Path
        The output folder.
    replace : bool
        Allow writing into a non-empty folder of another kind.
    kind_marker : str, optional
        A file name that marks a folder this command wrote before (e.g. ``run.json``); such a
        folder is accepted, so that the command can resume or skip finished work.
    flag : str
        The option that allows writing into another kind of folder, named in the message.

    Returns
    -------
    Path
        The output folder, as a :class:`~pathlib.Path` (not created here).

    Raises
    ------
    OutputError
        If ``path`` is a file, a non-empty folder of another kind (without ``replace``), sits under
        a file, or is not writable.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p} exists and is a file, not a folder")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write into {p}: the folder is not writable")
        own = kind_marker is not None and (p / kind_marker).exists()
        if not own and not replace and any(not c.name.startswith(".") for c in p.iterdir()):
            raise OutputError(f"{p} is a non-empty folder that this command did not write; "
                              f"choose another output or pass {flag}")
        return p
    _check_parent(p)
    return p
