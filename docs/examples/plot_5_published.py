"""
Import a published checkpoint
=============================

:func:`srprint.import_checkpoint` detects the architecture from the weights alone (never
unpickling code) and writes a zoo entry; the descriptor then runs it like any zoo model.
This example needs the shared checkpoints (``$SRPRINT_SHARED/data/pretrained``); CI has them.
"""

import tempfile
from pathlib import Path

from _demo import shared_checkpoint

import srprint
from srprint.io.images import skimage_photos

ckpt = shared_checkpoint("imdn_official/model_RTC.pth")
if ckpt is None:
    print("shared checkpoints not available: nothing to import")
else:
    zoo = Path(tempfile.mkdtemp()) / "published"
    m = srprint.import_checkpoint(ckpt, zoo=zoo, name="imdn-rtc")
    print(m)
    print(m.architecture, f"x{m.scale}", m.task, "input range", m.input_range)
    print({k: v for k, v in (m.provenance["imported"] or {}).items() if isinstance(v, str | int)})
    out = srprint.super_resolve(skimage_photos()["astronaut"][:64, :64, :3], model=m)
    print(out.input_shape, "->", out.output_shape)
