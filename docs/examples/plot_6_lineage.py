"""
Look a checkpoint up in a lineage index
=======================================

A lineage index keeps a short functional sketch of every known model; :func:`srprint.lineage` finds
the nearest ones in one query and confirms them with the ownership verdict, so a renamed copy of
an indexed model comes back as the ``same model``.
"""

import shutil
import tempfile
from pathlib import Path

from _demo import demo_zoo

import srprint
from srprint.lineage.build import index_models

zoo = demo_zoo()
work = Path(tempfile.mkdtemp())
built = index_models([zoo], work / "index")
print(built["groups"])

# %%
# A copy of one demo model under another name, looked up in the index.
suspect = work / "renamed"
shutil.copytree(zoo / "EDSR-skimage-x2-L1-s1", suspect)
r = srprint.lineage(suspect, index=work / "index")
print(r.answer, r.match)
print(r.text)
