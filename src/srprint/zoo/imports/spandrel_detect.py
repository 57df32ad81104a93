"""spandrel's auto-detection of ~40 published architectures, as one of srprint's detectors.

The network wrapper and the zoo loader that rebuild a detected model are in
:mod:`srprint.zoo.spandrel_net`."""

from __future__ import annotations

from ..detection import Detection, StateDict
from ..spandrel_net import load_descriptor, wrap_descriptor


def detect_spandrel(state: StateDict) -> tuple[Detection | None, str]:
    """spandrel's auto-detection; returns (detection or None, what happened)."""
    try:
        import spandrel
    except ImportError:  # pragma: no cover
        return None, "spandrel not installed"
    try:
        desc = load_descriptor(state)
    except spandrel.UnsupportedModelError:
        return None, "spandrel: unsupported layout"
    except Exception as exc:  # noqa: BLE001 - a detector that fails on foreign weights is just 'no match'
        return None, f"spandrel: matched a layout but failed ({type(exc).__name__}: {str(exc)[:100]})"
    arch = desc.architecture.id
    in_ch = int(getattr(desc, "input_channels", 3))
    if in_ch not in (1, 3):
        return None, f"spandrel: {arch} with {in_ch} input channels is not an RGB/grey image model"
    scale = int(desc.scale)
    req = getattr(desc, "size_requirements", None)
    cfg = {"spandrel_version": spandrel.__version__,
           "multiple_of": int(getattr(req, "multiple_of", 1) or 1), "minimum": int(getattr(req, "minimum", 0) or 0)}
    det = Detection(arch=arch, arch_config=cfg, scale=scale, task="sr" if scale > 1 else "denoise",
                    grey=in_ch == 1, loader="spandrel", state=dict(desc.model.state_dict()),
                    notes=[f"spandrel {spandrel.__version__} detected {arch} (purpose {desc.purpose})"],
                    scale_evidence=f"spandrel's {arch} descriptor says x{scale}")
    return det, f"spandrel: detected {arch}"


__all__ = ["detect_spandrel", "load_descriptor", "wrap_descriptor"]
