"""srprint: read the fingerprints that super-resolution and restoration networks leave behind.

The public API (each function lives in :mod:`srprint.api` and loads on first use, so
``import srprint`` stays fast and the CLI starts without torch)::

    zoo = srprint.load_zoo("zoos/demo")                     # models: load_zoo, load_model, import_checkpoint
    r = srprint.trace("suspect.png", zoo=zoo)               # questions: attribute, trace, parse, verify
    print(r.verdict, r.model)                               # every result: to_dict(), to_json(), a notebook table

``render``, ``study``, ``report`` and ``lineage`` are also subpackages (``srprint.render.run``, ...): calling
``srprint.render(...)`` calls :func:`srprint.api.images.render`.
"""

import importlib as _importlib
import types as _types
from typing import Any as _Any

import lazy_loader as _lazy

__version__ = "0.1.0"

_API = {
    "api.model": ["Model", "ModelZoo", "load_zoo", "load_model", "import_checkpoint"],
    "api.images": ["super_resolve"],
    "api.attribute": ["attribute"],
    "api.trace": ["trace"],
    "api.parse": ["parse"],
    "api.verify": ["verify"],
}
# API functions named like a subpackage: the subpackage itself is made callable (below)
_CALLABLE_PACKAGES = {"render": "api.images", "study": "api.study", "report": "api.study", "lineage": "api.lineage"}

__getattr__, __dir__, _lazy_all = _lazy.attach(__name__, submod_attrs=_API)
__all__ = [*_lazy_all, *_CALLABLE_PACKAGES, "__version__"]


class _CallablePackage(_types.ModuleType):
    """A subpackage that is also the public API function of its name: ``srprint.render(zoo, corpus=...)``."""

    def __call__(self, *args: _Any, **kwargs: _Any) -> _Any:
        name = self.__name__.rsplit(".", 1)[1]
        module = _importlib.import_module(f"{__package__}.{_CALLABLE_PACKAGES[name]}")
        return getattr(module, name)(*args, **kwargs)


def _make_callable() -> None:
    for name in _CALLABLE_PACKAGES:  # their __init__ holds only a docstring: importing them is free
        _importlib.import_module(f"{__name__}.{name}").__class__ = _CallablePackage


_make_callable()
