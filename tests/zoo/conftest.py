"""Fixtures of the zoo tests: the shared published checkpoints and a small real photo crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def pretrained_dir(shared_data: Path) -> Path:
    return shared_data / "pretrained"


@pytest.fixture(scope="session")
def set5_crop(shared_data: Path) -> tuple[str, np.ndarray]:
    """Centre 120x120 crop of Set5 'bird' (small enough for every model on 2 CPU cores)."""
    from srprint.io.images import center_crop, read_image

    img = read_image(shared_data / "images" / "Set5" / "bird.png")
    return "bird", center_crop(img, 120, 24)
