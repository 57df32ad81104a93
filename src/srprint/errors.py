"""User-facing errors.

Every error a user can cause (bad file, bad spec, missing folder ...) is raised as a subclass of
:class:`SrprintError`; the CLI prints its message as one line and exits non-zero.
"""

from __future__ import annotations


class SrprintError(Exception):
    """An error caused by input, with a message meant for the user (one line)."""


class ImageError(SrprintError):
    """An image could not be read or is unusable."""


class SpecError(SrprintError):
    """A model spec / id is malformed or names something unknown."""


class CheckpointError(SrprintError):
    """A checkpoint is missing, corrupt, unsafe or of an unknown layout."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint would need arbitrary unpickling to load."""


class DatasetError(SrprintError):
    """A dataset / folder is missing, empty or malformed."""


class InputError(SrprintError):
    """An input path is not something srprint reads (a named pipe, a device, a socket)."""


class OutputError(SrprintError):
    """An output path cannot be written without losing something the user did not name."""


MAX_MESSAGE_CHARS = 600


def one_line(message: str) -> str:
    """``message`` as one line: a multi-line message (e.g. a library's, quoted inside ours) keeps its
    first and last lines, joined by `` ... ``; whitespace runs become one space; at most
    :data:`MAX_MESSAGE_CHARS` characters."""
    lines = [" ".join(line.split()) for line in str(message).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    text = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


def expected_failure_message(exc: BaseException) -> str | None:
    """One line for a failure the user's input or machine caused; ``None`` for a bug (traceback).

    Expected: srprint's own errors, file-system errors (permissions, disk full, a file where a
    folder should be), decompression bombs, corrupt SQLite files, and running out of memory.
    The message is always one line (:func:`one_line`).
    """
    message = _expected_failure_message(exc)
    return None if message is None else one_line(message)


def _expected_failure_message(exc: BaseException) -> str | None:
    import json
    import sqlite3

    if isinstance(exc, SrprintError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({exc})"
    if isinstance(exc, json.JSONDecodeError):
        return f"corrupt JSON file ({exc})"
    if isinstance(exc, sqlite3.DatabaseError):
        return f"database error: {exc}"
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)):
        return "out of memory (try a smaller --size / --crop / --batch-size, or a machine with more memory)"
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, Image.DecompressionBombError):
        return f"{exc} (set SRPRINT_MAX_PIXELS to raise the limit)"
    return None
