"""
Trace an image to the model that made it
========================================

:func:`srprint.trace` inverts every zoo model that fits the image: a model's own output is
reproduced down to its 8-bit rounding, a real photo by none of them.
"""

import tempfile
from pathlib import Path

from _demo import demo_zoo

import srprint
from srprint.io.images import skimage_photos, write_png

zoo = demo_zoo()
photo = skimage_photos()["astronaut"]
work = Path(tempfile.mkdtemp())

# %%
# An image made by one demo model (x2, from a 24 px crop), and a real 48 px crop.
made = srprint.super_resolve(photo[100:124, 200:224, :3], model="EDSR-skimage-x2-L1-s1", zoo=zoo,
                             out=work / "made.png")
write_png(work / "photo.png", photo[300:348, 100:148, :3])

for name in ("made.png", "photo.png"):
    # the two x2 EDSR seeds as candidates (every demo model would do; each costs its calibration, minutes)
    r = srprint.trace(work / name, zoo=zoo, models="EDSR-skimage-x2")
    print(f"{name}: {r.verdict} {r.model or ''}")
    print("  ", r.explanation)

# %%
# The evidence, best candidate first: each model's residual as a multiple of the 8-bit floor.
for row in r.images[0]["candidates"][:3]:
    print(f"{row['id']:28s} {row['floor_ratio']:.3g}x floor, p = {row['p_value']:.2g}")
