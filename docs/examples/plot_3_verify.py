"""
Verify a suspected copy
=======================

:func:`srprint.verify` compares two models' weights after aligning them, against a null of
independent models of the same zoo: a renamed copy is a ``copy``, two seeds are ``independent``.
"""

import shutil
import tempfile
from pathlib import Path

from _demo import demo_zoo

import srprint

zoo = demo_zoo()
source = "EDSR-skimage-x2-L1-s1"

# %%
# A "stolen" copy: the same weights in another folder.
suspect = Path(tempfile.mkdtemp()) / "stolen"
shutil.copytree(zoo / source, suspect)

copy = srprint.verify(source, suspect, zoo=zoo, references=[zoo])
other = srprint.verify(source, "EDSR-skimage-x2-L1-s2", zoo=zoo, references=[zoo])
for v in (copy, other):
    print(f"{v.source} vs {v.suspect}: {v.verdict}")
    print("  ", v.explanation)

# %%
# Every result is a frozen dataclass that serialises to JSON.
print(copy.to_json()[:300], "...")
