from pathlib import Path

import pytest

from srprint.io.atomic import atomic_path, atomic_write_json, atomic_write_text


def test_failed_write_keeps_the_previous_version_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic_write_text(target, "v1")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    atomic_write_json(target, {"a": 1})
    assert target.read_text().strip().startswith("{")
    assert (target.stat().st_mode & 0o044) == 0o044  # readable by group/others like a normal file
