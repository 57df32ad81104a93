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


class OutputError(SrprintError):
    """An output path cannot be written without losing something the user did not name."""


def expected_failure_message(exc: BaseException) -> str | None:
    """One line for a failure the user's input or machine caused; ``None`` for a bug (traceback).

    Expected: srprint's own errors, file-system errors (permissions, disk full, a file where a
    folder should be), decompression bombs, corrupt SQLite files, and running out of memory.
    """
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
