"""Session fixtures of the hostile-input suite: one workspace of bad inputs, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from .workspace import Workspace, build_workspace


@pytest.fixture(scope="session")
def ws(tmp_path_factory: pytest.TempPathFactory, tiny_run: Path, tiny_render: Path) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("hostile") / "ws", tiny_run, tiny_render)
