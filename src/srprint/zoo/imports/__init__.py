"""Import of third-party checkpoints (spandrel detection, srprint ports, TF/Keras/MatConvNet readers).

The detectors run in registration order, and that order is this file's: the PyTorch state-dict
detectors of ``detectors_torch`` first, then those of ``detectors_b``; the file readers follow.
Optional modules that fail to import (e.g. a reader whose dependency is missing) are recorded in
:data:`UNAVAILABLE` with a warning instead of breaking the package.
"""

from __future__ import annotations

import importlib
import warnings

from . import detection, detectors_torch  # noqa: F401  (detectors_torch registers the first detectors)

# registered after detectors_torch, in this order
OPTIONAL_MODULES = ("detectors_b", "readers_keras", "readers_matconvnet", "readers_tf")
UNAVAILABLE: dict[str, str] = {}

for _name in OPTIONAL_MODULES:
    _full = f"{__name__}.{_name}"
    try:
        importlib.import_module(_full)
    except Exception as exc:  # noqa: BLE001 - one broken optional module must not disable the rest
        UNAVAILABLE[_full] = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"srprint import module {_full} unavailable ({type(exc).__name__}: {exc})", stacklevel=2)

from .core import import_checkpoint, import_file, import_manifest, read_checkpoint  # noqa: E402
from .restoration_check import evaluate_restoration  # noqa: E402

__all__ = ["UNAVAILABLE", "evaluate_restoration", "import_checkpoint", "import_file", "import_manifest",
           "read_checkpoint"]
