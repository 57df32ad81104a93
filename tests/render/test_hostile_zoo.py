"""A zoo whose records hold ``../x``, an absolute path and a duplicate id: rendering it writes nothing
outside ``-o`` (proved by tree hashes of everything around it), and the duplicate is refused by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.hostile.runner import error_lines, run_cli
from tests.hostile.workspace import _entry, tree_digest


def _set_id(folder: Path, new_id: str) -> None:
    record = json.loads((folder / "model.json").read_text())
    record["id"] = new_id
    (folder / "model.json").write_text(json.dumps(record))


def _digests(root: Path, skip: set[str]) -> dict[str, str]:
    """One tree hash per top-level entry of ``root`` (files by content), except those in ``skip``."""
    out = {}
    for p in sorted(root.iterdir()):
        if p.name in skip:
            continue
        out[p.name] = tree_digest(p) if p.is_dir() and not p.is_symlink() else p.read_bytes().hex()
    return out


def test_render_of_lying_records_writes_only_under_out(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"  # the user's own folder, which an absolute id once overwrote
    photos.mkdir()
    Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(photos / "im0.png")
    (photos / "labels.json").write_text('{"mine": true}\n')
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for k in range(2):
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(corpus / f"c{k}.png")
    zoo = tmp_path / "zoo"
    good = _entry(zoo, "EDSR-skimage-x2-L1-s1", 1)
    _set_id(_entry(zoo, "escape", 2), "../x")
    _set_id(_entry(zoo, "absolute", 3), str(photos))
    dup = _entry(tmp_path / "dup_zoo", "EDSR-skimage-x2-L1-s4", 4)
    shutil.copytree(good, tmp_path / "dup_zoo" / "copy")  # another folder, the same id
    _set_id(dup, good.name)
    shutil.copytree(good, tmp_path / "dup_zoo" / "escape")
    _set_id(tmp_path / "dup_zoo" / "escape", "../x")
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "work").mkdir()
    before = _digests(tmp_path, {"out", "out_dup", "home"})
    before_parent = sorted(p.name for p in tmp_path.parent.iterdir())

    # the zoo with a duplicate id: refused in one line naming it, nothing written
    dup_run = run_cli(["render", "--zoo", str(tmp_path / "dup_zoo"), "--corpus", str(corpus), "-o",
                       str(tmp_path / "out_dup"), "--device", "cpu"], home=home, cwd=tmp_path / "work")
    assert dup_run.returncode == 2, dup_run.stderr
    lines = error_lines(dup_run.stderr)
    assert len(lines) == 1 and "two entries claim the model id 'EDSR-skimage-x2-L1-s1'" in lines[0], dup_run.stderr
    assert not (tmp_path / "out_dup").exists()

    # the zoo with '../x' and an absolute id: those two are skipped, named; the good model renders
    out = tmp_path / "out"
    proc = run_cli(["render", "--zoo", str(zoo), "--corpus", str(corpus), "-o", str(out), "--device", "cpu"],
                   home=home, cwd=tmp_path / "work")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "invalid model id '../x'" in proc.stderr and f"invalid model id '{photos}'" in proc.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["EDSR-skimage-x2-L1-s1", "HR"]
    assert len(list((out / "EDSR-skimage-x2-L1-s1").glob("*.png"))) == 2

    # nothing outside -o changed: every folder beside it hashes the same, its parent gained nothing
    assert _digests(tmp_path, {"out", "out_dup", "home"}) == before
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before_parent
    assert not (tmp_path / "x").exists() and not (tmp_path / "work").joinpath("x").exists()
    assert sorted(p.name for p in photos.iterdir()) == ["im0.png", "labels.json"]
