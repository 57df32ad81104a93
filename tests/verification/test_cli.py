import json

from typer.testing import CliRunner

from srprint.cli import app
from srprint.verification.fingerprint import FingerprintError, load_fingerprint

runner = CliRunner()
FAST = ["--size", "16", "--iters", "5"]


def test_fingerprint_verify_and_mismatch(tiny_zoo, tmp_path):
    r = runner.invoke(app, ["fingerprint", "EDSR-tiny-x2-s1", "--zoo", str(tiny_zoo), *FAST, "-o",
                            str(tmp_path / "a.json")])
    assert r.exit_code == 0, r.output
    fp = load_fingerprint(tmp_path / "a.json")
    assert fp.settings.size == 16 and fp.features.shape == (30,)
    # fingerprint file vs model: the model is fingerprinted with the file's settings; a model vs itself is a copy
    r = runner.invoke(app, ["verify", str(tmp_path / "a.json"), "EDSR-tiny-x2-s1", "--zoo", str(tiny_zoo),
                            "--json", "--image", str(tmp_path / "side.png")])
    assert r.exit_code == 0, r.output
    v = json.loads(r.stdout)
    assert v["verdict"] == "COPY" and v["d"] == 0.0
    assert (tmp_path / "side.png").is_file()
    r = runner.invoke(app, ["fingerprint", "EDSR-tiny-x2-s2", "--zoo", str(tiny_zoo), "--size", "16", "--iters", "6",
                            "-o", str(tmp_path / "b.json")])
    assert r.exit_code == 0
    r = runner.invoke(app, ["verify", "pair", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert isinstance(r.exception, FingerprintError)
    assert "iters (5 vs 6)" in str(r.exception)


def test_attack_and_registry_cli(tiny_zoo, tmp_path):
    r = runner.invoke(app, ["attack", "prune", "EDSR-tiny-x2-s1", "--zoo", str(tiny_zoo), "--percent", "5",
                            "-o", str(tmp_path / "pruned"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["labels"]["attack"] == "prune"
    reg = ["--registry", str(tmp_path / "reg.sqlite")]
    r = runner.invoke(app, ["registry", "add", "EDSR-tiny-x2-s1", "--zoo", str(tiny_zoo), "--name", "mine",
                            *FAST, *reg])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["fingerprint", str(tmp_path / "pruned"), *FAST, "-o", str(tmp_path / "a_fp.json")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["registry", "check", str(tmp_path / "pruned"), "--json", *reg])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    # the owner's model is on disk: function, then lineage, decide; the suspect is never optimised (no inversion)
    assert res[0]["name"] == "mine" and res[0]["verdict"] == "copy"
    assert res[0]["functional"]["method"] == "function" and "inversion" not in res[0]["functional"]
    r = runner.invoke(app, ["registry", "check", str(tmp_path / "pruned"), "--json", "--registry",
                            str(tmp_path / "typo.sqlite")])
    assert r.exit_code != 0 and "registry not found" in str(r.exception)
    assert not (tmp_path / "typo.sqlite").exists()
    r = runner.invoke(app, ["registry", "check", str(tmp_path / "a_fp.json"), "--json", *reg])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)  # a fingerprint file is compared by the critical-image rule
    assert res[0]["name"] == "mine" and res[0]["settings"]["iters"] == 5
    r = runner.invoke(app, ["registry", "list", "--json", *reg])
    assert [row["name"] for row in json.loads(r.stdout)] == ["mine"]
    r = runner.invoke(app, ["registry", "remove", "mine", *reg])
    assert r.exit_code == 0
    r = runner.invoke(app, ["registry", "list", "--json", *reg])
    assert json.loads(r.stdout) == []


def test_verify_matrix(tiny_zoo, tmp_path):
    r = runner.invoke(app, ["verify", "matrix", "EDSR-tiny-x2-s1", "EDSR-tiny-x2-s2", "--zoo", str(tiny_zoo),
                            *FAST, "-o", str(tmp_path / "mx"), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert len(res["d_over_eta"]) == 2 and res["d_over_eta"][0][0] == 0.0
    assert (tmp_path / "mx" / "matrix.png").is_file()


def test_edit_attacks_from_the_cli_are_copies(tiny_zoo, tmp_path):
    for name, extra in (("mix", ["--cond", "50"]), ("signflip", []), ("insert-identity", ["--depth", "0.5",
                                                                                         "--kind", "block"]),
                        ("widen", ["--extra", "2"]), ("padkernel", [])):
        out = tmp_path / name
        r = runner.invoke(app, ["attack", name, "EDSR-tiny-x2-s1", "--zoo", str(tiny_zoo), *extra, "-o", str(out),
                                "--json"])
        assert r.exit_code == 0, r.output
        rec = json.loads(r.stdout)
        assert rec["labels"]["attack"] == name and abs(rec["metrics"]["psnr_change"]) < 1e-3
        r = runner.invoke(app, ["verify", "EDSR-tiny-x2-s1", str(out), "--zoo", str(tiny_zoo), "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["verdict"] == "copy", r.stdout
    r = runner.invoke(app, ["attack", "insert-identity", "EDSR-tiny-x2-s1", "--zoo", str(tiny_zoo), "--kind", "x",
                            "-o", str(tmp_path / "bad")])
    assert r.exit_code != 0 and not (tmp_path / "bad").exists()


def test_finetune_cli_says_when_the_model_collapsed(tiny_zoo, tmp_path):
    base = ["attack", "finetune", "EDSR-tiny-x2-s1", "--zoo", str(tiny_zoo), "--iters", "3", "--patch", "24",
            "--batch-size", "2", "--data", "skimage"]
    r = runner.invoke(app, [*base, "--lr", "1.0", "-o", str(tmp_path / "wrecked")])
    assert r.exit_code == 0, r.output
    assert "collapsed the model" in r.stdout and "--scaled" in r.stdout
    r = runner.invoke(app, [*base, "--lr", "1e-6", "-o", str(tmp_path / "gentle")])
    assert r.exit_code == 0, r.output
    assert "collapsed" not in r.stdout
