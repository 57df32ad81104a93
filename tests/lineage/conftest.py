"""Tiny lineage populations: random-initialised tiny EDSRs (independent roots) and their edited copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from srprint.verification.attacks import attack_model
from srprint.zoo.entry import ZooEntry

from ..verification.conftest import make_sr_entry

torch.set_num_threads(1)


def renamed_copy(entry: ZooEntry, folder: Path, new_id: str) -> ZooEntry:
    """A re-upload: the same weights file under another id."""
    shutil.copytree(entry.path, folder)
    e = ZooEntry.load(folder)
    e.id = new_id
    e.save(folder)
    return ZooEntry.load(folder)


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ZooEntry]:
    """``zoo``: four independent roots (indexed); ``outside``: edited copies and an independent model."""
    root = tmp_path_factory.mktemp("lineage_pop")
    zoo = root / "zoo"
    ents = {f"r{i}": make_sr_entry(zoo, f"EDSR-tiny-x2-r{i}", 10 + i) for i in range(1, 5)}
    out = root / "outside"
    ents["indep"] = make_sr_entry(out, "EDSR-tiny-x2-indep", 99)
    ents["renamed"] = renamed_copy(ents["r1"], out / "renamed", "totally-new-name")
    ents["fp16"] = attack_model(ents["r1"], "fp16", out / "fp16")
    ents["permuted"] = attack_model(ents["r1"], "permute", out / "permuted", params={"seed": 5})
    ents["finetune"] = attack_model(ents["r2"], "finetune", out / "finetune",
                                    params={"iters": 20, "lr": 2e-4, "data": "skimage", "patch": 32})
    return {"zoo": zoo, **ents}


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SRPRINT_HOME", str(home))
    monkeypatch.setenv("SRPRINT_QUIET", "1")
    return home


def relabelled(entry: ZooEntry, folder: Path, *, labels: dict[str, str]) -> ZooEntry:
    """A copy of ``entry`` whose record carries extra labels (a licence, a declared parent)."""
    shutil.copytree(entry.path, folder)
    e = ZooEntry.load(folder)
    e.labels = {**e.labels, **labels}
    e.save(folder)
    return ZooEntry.load(folder)
