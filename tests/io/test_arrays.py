"""Optional JSON side files: missing, half-written or foreign ones read as None, never as an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from srprint.errors import DatasetError
from srprint.io.arrays import read_json, read_json_or_none


def test_optional_json_reads_as_none_when_missing_cut_short_or_not_utf8(tmp_path: Path) -> None:
    good, half, latin = tmp_path / "good.json", tmp_path / "half.json", tmp_path / "latin.json"
    good.write_text('{"a": [1, 2]}')
    half.write_text('{"a": [1,')
    latin.write_bytes(b'{"caf\xe9": 1}')
    assert read_json_or_none(good) == {"a": [1, 2]}
    assert read_json_or_none(tmp_path / "missing.json") is None
    assert read_json_or_none(half) is None and read_json_or_none(latin) is None
    assert read_json_or_none(tmp_path) is None  # a folder where the file should be
    with pytest.raises(DatasetError, match="corrupt JSON"):
        read_json(half)  # the strict reader still refuses it
