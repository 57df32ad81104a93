"""Import of third-party checkpoints (spandrel detection, srprint ports, TF/Keras/MatConvNet readers).

Importing this package registers everything the import machinery knows: the PyTorch ports in
``srprint.zoo.archs.ports_*`` (architectures), the state-dict detectors (``detectors_*``), the
file readers (``readers_*``) and the ``spandrel`` zoo loader. Optional modules that fail to import
(e.g. a reader whose dependency is missing) are recorded in :data:`UNAVAILABLE` with a warning
instead of breaking the package.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

from .. import archs as _archs

UNAVAILABLE: dict[str, str] = {}


def _import_optional(package: str, prefixes: tuple[str, ...], path: list[str]) -> None:
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if not info.name.startswith(prefixes):
            continue
        full = f"{package}.{info.name}"
        try:
            importlib.import_module(full)
        except Exception as exc:  # noqa: BLE001 - one broken optional module must not disable the rest
            UNAVAILABLE[full] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"srprint import module {full} unavailable ({type(exc).__name__}: {exc})", stacklevel=2)


_archs._ensure_loaded()  # built-in archs first, then the ports
_import_optional(_archs.__name__, ("ports_",), list(_archs.__path__))

from . import detectors_torch, registry, spandrel_loader  # noqa: E402,F401  (registration side effects)

_import_optional(__name__, ("detectors_", "readers_"), list(__path__))

from .core import import_checkpoint, import_file, import_manifest, read_checkpoint  # noqa: E402
from .evaluate import evaluate_restoration  # noqa: E402

__all__ = ["UNAVAILABLE", "evaluate_restoration", "import_checkpoint", "import_file", "import_manifest",
           "read_checkpoint"]
