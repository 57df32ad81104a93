"""Import of third-party checkpoints (spandrel detection, srprint's published families, file readers).

Detectors run in registration order, and that order is :data:`srprint.zoo.families.DETECTORS`:
each family's ``detect`` module, in that list's order; the TF/Keras/MatConvNet file readers follow.
A module that fails to import (e.g. a reader whose dependency is missing) is recorded in
:data:`UNAVAILABLE` with a warning instead of breaking the package.
"""

from __future__ import annotations

import importlib
import warnings

from ..families import DETECTORS as _DETECTOR_FAMILIES

READER_MODULES = ("readers_keras", "readers_matconvnet", "readers_tf")
UNAVAILABLE: dict[str, str] = {}

for _full in ([f"srprint.zoo.families.{f}.detect" for f in _DETECTOR_FAMILIES]
              + [f"{__name__}.{r}" for r in READER_MODULES]):
    try:
        importlib.import_module(_full)
    except Exception as exc:  # noqa: BLE001 - one broken module must not disable the rest
        UNAVAILABLE[_full] = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"srprint import module {_full} unavailable ({type(exc).__name__}: {exc})", stacklevel=2)

from .core import import_checkpoint, import_file, import_manifest, read_checkpoint  # noqa: E402
from .restoration_check import evaluate_restoration  # noqa: E402

__all__ = ["UNAVAILABLE", "evaluate_restoration", "import_checkpoint", "import_file", "import_manifest",
           "read_checkpoint"]
