"""One output policy for every command that writes: never replace what the user did not name as output.

A command checks its outputs *before* it starts work: an existing file is refused unless the user
passes ``--force``; a folder output must be empty, absent, or already of the kind the command
writes (``kind_marker``). The checks raise :class:`~srprint.errors.OutputError` with one line that
says what would be overwritten and how to allow it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError, OutputError

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISSOCK, "a socket"))


def _not_regular(p: Path) -> str | None:
    """What ``p`` is when it exists and is neither a regular file nor a folder (links followed)."""
    try:
        mode = p.stat().st_mode
    except OSError:
        return None
    return next((what for test, what in _KINDS if test(mode)), None)


def check_input_file(path: str | Path, *, what: str = "file") -> Path:
    """Return ``path`` after checking that it is a regular file (links followed), before it is opened.

    A named pipe would block the reader forever, and a device streams without end: both are refused
    at once.

    Parameters
    ----------
    path : str or Path
        The input the user named.
    what : str
        What it should be (``image``, ``checkpoint`` ...), for the message.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        If ``path`` is a named pipe, a device or a socket (a missing file is left to the caller).
    """
    p = Path(path)
    kind = _not_regular(p)
    if kind is not None:
        raise InputError(f"{p} is {kind}, not a regular file; give an {what} file" if what[0] in "aeiou"
                         else f"{p} is {kind}, not a regular file; give a {what} file")
    return p


def check_inside(root: str | Path, path: str | Path) -> Path:
    """Return ``path`` after checking that, resolved, it lies inside ``root`` (resolved too).

    Every path built from data (a model id, an image id) is checked before anything is written, so
    a record can never steer a write out of its output folder.

    Parameters
    ----------
    root : str or Path
        The output root the user named.
    path : str or Path
        A path under it, built from ``root`` and names read from records.

    Returns
    -------
    Path
        ``path`` unchanged (as a :class:`~pathlib.Path`).

    Raises
    ------
    OutputError
        If ``path`` resolves outside ``root`` (``..``, an absolute part, or a symlink out).
    """
    r, p = Path(root).resolve(), Path(path).resolve()
    if p != r and r not in p.parents:
        raise OutputError(f"refusing to write {path}: it lies outside the output folder {root}")
    return Path(path)


def _check_parent(path: Path) -> None:
    for parent in [path.parent, *path.parent.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"cannot write {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(f"cannot write {path}: {parent} is not writable")
            return


def check_output_file(path: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = (),
                      flag: str = "--force", check_folder: bool = True) -> Path:
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
    check_folder : bool
        Also check that its folder can be written (off for an optional side file, whose write
        failure is a warning after the result).

    Returns
    -------
    Path
        The output file, as a :class:`~pathlib.Path` (nothing is written yet).

    Raises
    ------
    OutputError
        If ``path`` is an input, a folder, a device, pipe or socket (even with ``force``: only a
        regular file is ever replaced), exists (without ``force``), sits under a file, or its folder
        is not writable.
    """
    p = Path(path)
    for src in inputs:
        if Path(src).exists() and p.exists() and p.resolve() == Path(src).resolve():
            raise OutputError(f"refusing to overwrite the input {p}")
    if p.is_dir():
        raise OutputError(f"{p} is a folder; name an output file")
    kind = _not_regular(p)
    if kind is not None:
        raise OutputError(f"{p} is {kind}, not a regular file; srprint never replaces it, even with {flag}")
    if p.exists() and not force:
        raise OutputError(f"{p} exists and would be overwritten; choose another output or pass {flag}")
    if check_folder:
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
        kind = _not_regular(p)
        raise OutputError(f"{p} exists and is {kind or 'a file'}, not a folder")
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


def check_side_files(paths: Iterable[str | Path], *, force: bool = False, inputs: Iterable[str | Path] = (),
                     flag: str = "--force") -> list[Path]:
    """Check side files (a figure, critical-image PNGs) with the main output's policy.

    Parameters
    ----------
    paths : iterable of paths
        The side files a command will write next to its main output.
    force : bool
        The main output's ``--force``: allow replacing existing regular files.
    inputs : iterable of paths
        The command's inputs; a side file that is one of them is always refused.
    flag : str
        The option that allows replacing, named in the message.

    Returns
    -------
    list of Path
        The side files (nothing is written yet).

    Raises
    ------
    OutputError
        As :func:`check_output_file`, for the first side file that may not be written.
    """
    inputs = list(inputs)
    return [check_output_file(p, force=force, inputs=inputs, flag=flag) for p in paths]
