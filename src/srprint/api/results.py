"""The base of every public result: a frozen dataclass with ``to_dict``, ``to_json`` and ``_repr_html_``."""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

#: ``field(metadata=HIDDEN)``: a field that ``to_dict`` leaves out (arrays, networks, records)
HIDDEN = {"export": False}


def jsonable(obj: Any) -> Any:
    """``obj`` with paths, tuples, sets and NumPy values turned into JSON types.

    Parameters
    ----------
    obj : object
        A value built of dicts, lists, tuples, paths, NumPy scalars and arrays.

    Returns
    -------
    object
        The same value made of ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``.

    Raises
    ------
    TypeError
        Never for the types above; an unknown object is written as its ``str``.

    Examples
    --------
    >>> jsonable({"p": Path("a/b"), "t": (1, np.float32(0.5))})
    {'p': 'a/b', 't': [1, 0.5]}
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, Result):
        return obj.to_dict()
    return str(obj)


def _cell(value: Any, limit: int = 120) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list | dict) and value:
        text = json.dumps(value, default=str)
        if len(text) > limit:
            text = f"{text[:limit]}… ({len(value)} {'items' if isinstance(value, list) else 'keys'})"
    else:
        text = str(value)
    return html.escape(text)


class Result:
    """Mixin of the public results (each a frozen dataclass).

    ``to_dict()`` holds every field not marked :data:`HIDDEN`, as JSON types; ``to_json()`` is its
    JSON text; a notebook shows ``_repr_html_()``, a two-column table of the same fields.
    """

    def to_dict(self) -> dict[str, Any]:
        """The result's fields as JSON types (hidden fields, such as arrays and networks, left out).

        Returns
        -------
        dict
            One key per exported field.
        """
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if f.metadata.get("export", True)}

    def to_json(self, *, indent: int | None = None) -> str:
        """The result as JSON text.

        Parameters
        ----------
        indent : int, optional
            Indentation (default: one compact line).

        Returns
        -------
        str
            ``json.dumps(self.to_dict())``.
        """
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{_cell(v)}</td></tr>"
                       for k, v in self.to_dict().items())
        return f"<table><caption>{type(self).__name__}</caption>{rows}</table>"
