"""The one rule for a name that becomes a file or folder name: model ids, entry names, image ids.

A record (``model.json``, a manifest row, ``corpus.json``, the registry) is data, not a path: an id
read from one is checked by :func:`check_name` before it is joined to a folder, so ``../x``,
``/home/user/photos``, ``.hidden`` or ``a/b`` can never steer a write. ``zoo import``'s ``--name``
follows the same rule.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import SpecError

NAME_RX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
MAX_NAME_CHARS = 200  # a file name (with a suffix such as ``.png``) stays under the usual 255-byte limit
NAME_RULE = "letters, digits, '.', '_', '+', '-', starting with a letter or digit"


def is_valid_name(name: Any) -> bool:
    """Whether ``name`` may be used as one file or folder name (see :func:`check_name`)."""
    return isinstance(name, str) and len(name) <= MAX_NAME_CHARS and NAME_RX.fullmatch(name) is not None


def check_name(name: Any, *, what: str = "model id", where: str = "") -> str:
    """Return ``name`` if it is safe as one file or folder name; refuse it otherwise.

    Parameters
    ----------
    name : Any
        The name read from a record, a manifest, an option or a file name.
    what : str
        What the name is, for the message (``model id``, ``image id``, ``model name`` ...).
    where : str
        The file the name was read from, prefixed to the message when given.

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    SpecError
        If ``name`` is not a string, is empty or longer than :data:`MAX_NAME_CHARS`, or holds anything
        but letters, digits, ``.``, ``_``, ``+``, ``-`` (so no ``/``, ``..`` at the start, or a leading dot).
    """
    if is_valid_name(name):
        return name
    prefix = f"{where}: " if where else ""
    shown = repr(name) if not isinstance(name, str) or len(name) <= MAX_NAME_CHARS else repr(name[:80] + "...")
    if isinstance(name, str) and len(name) > MAX_NAME_CHARS:
        raise SpecError(f"{prefix}invalid {what} {shown}: longer than {MAX_NAME_CHARS} characters")
    raise SpecError(f"{prefix}invalid {what} {shown}: use {NAME_RULE}")
