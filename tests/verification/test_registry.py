import sqlite3
import threading

import numpy as np
import pytest

from srprint.errors import SrprintError
from srprint.verification.fingerprint import Fingerprint, FingerprintSettings
from srprint.verification.fingerprint_store import Registry


def _fp(value: float, model_id: str, **settings: object) -> Fingerprint:
    f = np.full(30, 1 / 30)
    f[0] += value
    return Fingerprint(FingerprintSettings(**settings), f, [np.zeros((8, 8, 3), np.uint8)],
                       model={"id": model_id, "sha256": model_id * 2})


def test_add_check_list_remove_roundtrip(tmp_path):
    reg = Registry(tmp_path / "fp.sqlite")
    reg.add("mine", _fp(0.0, "a"))
    reg.add("other", _fp(0.3, "b"))
    reg.add("other-setting", _fp(0.0, "c", iters=10))
    assert [r.name for r in reg.list()] == ["mine", "other", "other-setting"]
    got = reg.get("mine")
    np.testing.assert_allclose(got.features, _fp(0.0, "a").features)
    res = reg.check(_fp(0.001, "suspect"))  # only fingerprints with the same settings are compared
    assert [n for n, _ in res] == ["mine", "other"]
    assert res[0][1].is_copy and not res[1][1].is_copy
    calls = []

    def fingerprint_suspect(settings: FingerprintSettings) -> Fingerprint:
        calls.append(settings.iters)
        return _fp(0.001, "suspect", iters=settings.iters)

    res2 = reg.check(fingerprint_suspect)  # one fingerprint per distinct setting
    assert sorted(calls) == [10, 5000]
    assert {n for n, v in res2 if v.is_copy} == {"mine", "other-setting"}
    with pytest.raises(SrprintError, match="already has"):
        reg.add("mine", _fp(0.0, "a"))
    reg.remove("mine")
    assert "mine" not in [r.name for r in reg.list()]
    with pytest.raises(SrprintError, match="no fingerprint named"):
        reg.remove("mine")
    assert sqlite3.connect(tmp_path / "fp.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_adds(tmp_path):
    path = tmp_path / "fp.sqlite"
    Registry(path)
    errors = []

    def add(i: int) -> None:
        try:
            Registry(path).add(f"m{i}", _fp(i / 100, f"id{i}"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(Registry(path).list()) == 8


def test_default_path_under_srprint_home(_srprint_home):
    assert Registry().path == _srprint_home / "fingerprints.sqlite"
