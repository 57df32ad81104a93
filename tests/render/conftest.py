"""Fixtures for the render tests: a tiny zoo (seeded, untrained weights) and a tiny tiled corpus.

Rendering does not care whether weights are trained, so the zoo is built from seeded random
initialisations (instant) rather than trained; the entries are otherwise what ``zoo train`` writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from srprint.render.corpus import PrepareConfig, prepare_corpus

from .render_helpers import ZOO_IDS, add_model


@pytest.fixture(scope="session")
def base_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("render_zoo")
    for mid in ZOO_IDS:
        add_model(root, mid)
    return root


@pytest.fixture(scope="session")
def base_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 tiles of 32x32 from three bundled photos."""
    root = tmp_path_factory.mktemp("render_corpus")
    prepare_corpus(["skimage:astronaut,chelsea,coffee"], root,
                   PrepareConfig(long_side=256, blur_sigma=0.5, tile=32, max_tiles=4, limit=10))
    return root


@pytest.fixture()
def zoo(base_zoo: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny zoo (tests may add or break models)."""
    dst = tmp_path / "zoo"
    shutil.copytree(base_zoo, dst)
    return dst
