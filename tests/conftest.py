"""Shared fixtures: an isolated $SRPRINT_HOME, shared-data access and a tiny trained zoo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from srprint.config import shared_data_dir


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make test`` runs two workers on the 2 CI cores) every torch call is limited to
    one thread: two workers at two threads each spin-wait on each other (about 10x slower)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        real = torch.set_num_threads
        real(1)
        torch.set_num_threads = lambda n: real(1)  # fixtures that ask for 2 threads get 1 here


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real artifact cache from a test."""
    home = tmp_path_factory.getbasetemp() / "srprint_home"
    monkeypatch.setenv("SRPRINT_HOME", str(home))
    monkeypatch.setenv("SRPRINT_QUIET", "1")


def require_shared() -> Path:
    """The shared data folder; under CI it must exist (fail), elsewhere a missing one skips."""
    data = shared_data_dir()
    if not (data / "images" / "images.csv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data missing at {data} (required under CI)")
        pytest.skip(f"shared data not available at {data}")
    return data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny models trained for a few iterations on scikit-image's bundled photos."""
    from srprint.zoo.api import preset_train_config, train_specs
    from srprint.zoo.specs import parse_model_id

    root = tmp_path_factory.mktemp("tiny_zoo")
    torch.set_num_threads(2)
    specs = [parse_model_id("EDSR-skimage-x2-L1-s1"), parse_model_id("RCAN-skimage-x4-L1-s1")]
    results = train_specs(specs, root, preset_train_config("demo", iters=12, ckpt_every=6), device="cpu")
    assert all(r.ok for r in results), [r.error for r in results]
    return root


@pytest.fixture(scope="session")
def tiny_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Renders of five random-initialised tiny models (see ``tests/tiny_render.py``)."""
    from .tiny_render import KNOWN, UNKNOWN, make_tiny_render

    return make_tiny_render(tmp_path_factory.mktemp("tiny_render"), KNOWN + UNKNOWN)


@pytest.fixture(scope="session")
def tiny_run(tiny_render: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classifier of the four known models (the RDN model is held out as the open-set unknown)."""
    from srprint.classify.run_folder import ClassifierConfig
    from srprint.classify.train import train_run

    from .tiny_render import HOLDOUT, TINY_CFG

    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return train_run(tiny_render, out, ClassifierConfig(**TINY_CFG), holdout_models=HOLDOUT)
