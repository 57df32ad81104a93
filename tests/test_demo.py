"""``srprint demo`` retires the folders of an older training recipe instead of mixing their models in."""

from __future__ import annotations

import json
from pathlib import Path

from srprint.demo import RECIPE_FILE, _retire_stale


def test_a_folder_of_another_recipe_is_moved_aside_never_deleted(tmp_path: Path) -> None:
    old = tmp_path / "demo"
    (old / "render").mkdir(parents=True)
    (old / "render" / "a.png").write_bytes(b"old")
    _retire_stale(old, "new-key")
    assert (tmp_path / "demo.recipe-old" / "render" / "a.png").read_bytes() == b"old"
    assert sorted(p.name for p in old.iterdir()) == [RECIPE_FILE]
    assert json.loads((old / RECIPE_FILE).read_text()) == {"train_key": "new-key"}
    (old / "render").mkdir()
    _retire_stale(old, "new-key")  # same recipe: kept as it is
    assert (old / "render").is_dir()
    _retire_stale(old, "newer-key")  # another recipe again: a second, distinct folder aside
    assert (tmp_path / "demo.recipe-new-key" / "render").is_dir()
    assert (tmp_path / "demo.recipe-old" / "render" / "a.png").is_file()


def test_an_empty_or_missing_folder_just_gets_the_recipe(tmp_path: Path) -> None:
    _retire_stale(tmp_path / "fresh", "k")
    assert json.loads((tmp_path / "fresh" / RECIPE_FILE).read_text()) == {"train_key": "k"}
    assert [p.name for p in tmp_path.iterdir()] == ["fresh"]
