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
