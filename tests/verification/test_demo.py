"""The verification stage of ``srprint demo`` prints right verdicts (tiny untrained stand-ins)."""

from types import SimpleNamespace

from srprint.verification import demo

from .conftest import make_sr_entry


def test_demo_stage_verdicts_are_right(tmp_path):
    zoo = tmp_path / "zoo"
    make_sr_entry(zoo, demo.SOURCE, 1)
    make_sr_entry(zoo, demo.INDEPENDENT, 2)
    make_sr_entry(zoo, "RCAN-stand-in-EDSR-s7", 7)  # another independent model for the null
    res = demo.demo_stage(SimpleNamespace(out=tmp_path / "out", zoo_dir=zoo, device="cpu"))
    got = {r["suspect"]: r["verdict"] for r in res["verdicts"]}
    assert got == {f"{demo.SOURCE}+prune5": "copy", f"{demo.SOURCE}+mix1": "copy", demo.INDEPENDENT: "independent"}
    assert res["all_correct"]
