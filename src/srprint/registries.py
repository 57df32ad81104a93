"""One explicit name -> entry table, shared by srprint's registries (architectures, backbones, ...).

Each registry is filled by the module that owns it, at import, in the order its entries are
written; nothing is found by scanning. A :class:`Registry` is a read-only mapping, so ``name in``,
``[name]`` and iteration work as on a dict, and :meth:`Registry.lookup` refuses an unknown name with
one clear error that lists the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from .errors import SrprintError

T = TypeVar("T")
F = TypeVar("F")


class Registry(Mapping[str, T], Generic[T]):
    """An ordered table of named entries of one kind.

    Parameters
    ----------
    kind : str
        What the entries are, for messages ("backbone", "attack").
    error : type of Exception
        The error :meth:`lookup` raises for an unknown name.
    unique : bool
        Refuse a second entry under a name already taken (else the new entry replaces it, which
        lets tests register stand-ins).
    """

    def __init__(self, kind: str, *, error: type[Exception] = SrprintError, unique: bool = True) -> None:
        self.kind = kind
        self.error = error
        self.unique = unique
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name`` and return it.

        Raises
        ------
        ValueError
            If the registry is ``unique`` and ``name`` is taken.
        """
        if self.unique and name in self._entries:
            raise ValueError(f"{self.kind} {name} registered twice")
        self._entries[name] = entry
        return entry

    def decorator(self, name: str, make: Callable[[F], T]) -> Callable[[F], F]:
        """A decorator that adds ``make(fn)`` under ``name`` and returns ``fn`` unchanged."""

        def deco(fn: F) -> F:
            self.add(name, make(fn))
            return fn

        return deco

    def lookup(self, name: str) -> T:
        """The entry called ``name``.

        Raises
        ------
        Exception
            ``self.error`` (a :class:`~srprint.errors.SrprintError` by default) naming the known
            entries, if there is none called ``name``.
        """
        if name not in self._entries:
            raise self.error(f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or 'none'}")
        return self._entries[name]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
