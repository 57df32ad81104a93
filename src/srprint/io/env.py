"""Numbers read from environment variables, refused with an error that names the variable."""

from __future__ import annotations

import math
import os

from ..errors import SrprintError


class EnvError(SrprintError):
    """An environment variable holds a value srprint cannot use."""


def env_number(name: str, default: float, *, integer: bool = False, minimum: float | None = None) -> float:
    """The number in ``$name`` (``default`` when unset or empty).

    Parameters
    ----------
    name : str
        The environment variable, e.g. ``SRPRINT_PROGRESS_EVERY``.
    default : float
        Its value when unset or empty.
    integer : bool
        Require a whole number (returned as ``int``).
    minimum : float, optional
        The smallest accepted value.

    Returns
    -------
    float or int
        The parsed value.

    Raises
    ------
    EnvError
        If the value is not a (finite, whole when ``integer``) number, or is below ``minimum``.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    kind = "a whole number" if integer else "a number"
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not {kind}; unset it or give e.g. {name}={default:g}") from None
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise EnvError(f"{name}={raw!r} is out of range; give {kind} >= {minimum:g}" if minimum is not None
                       else f"{name}={raw!r} is not a finite number")
    return value


# the numeric variables srprint reads: (name, default, integer, minimum); checked once at the CLI's start
NUMERIC_VARIABLES = (
    ("SRPRINT_PROGRESS_EVERY", 30.0, False, 0.0),
    ("SRPRINT_MAX_PIXELS", 64_000_000, True, 1),
)


def check_environment() -> None:
    """Parse every numeric ``SRPRINT_*`` variable now, so a bad value stops a command before any work.

    Raises
    ------
    EnvError
        For the first variable that does not hold a usable number (the message names it).
    """
    for name, default, integer, minimum in NUMERIC_VARIABLES:
        env_number(name, default, integer=integer, minimum=minimum)
