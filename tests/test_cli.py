import json
import sys
from pathlib import Path

import numpy as np
import pytest

from srprint.cli import main
from srprint.io.images import read_image, write_png


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["srprint", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_grid_json_lists_180_paper_ids(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = run_cli(["zoo", "grid", "--preset", "paper", "--json"], capsys, monkeypatch)
    data = json.loads(out)
    assert code == 0 and data["n_models"] == 180 and len(set(data["ids"])) == 180


@pytest.mark.parametrize("args, msg", [
    (["zoo", "train", "--spec", "EDSR-x2-L1", "--zoo", "/tmp/never"], "cannot parse model id"),
    (["zoo", "train", "--spec", "FOO-bsds-x2-L1-s1", "--zoo", "/tmp/never"], "unknown architecture"),
    (["zoo", "grid", "--preset", "huge"], "unknown grid preset"),
    (["zoo", "list", "/nonexistent/zoo"], "zoo folder not found"),
    (["zoo", "train", "--spec", "EDSR-div2k-x2-L1-s1", "--zoo", "/tmp/never"], "training set 'div2k' not found"),
])
def test_bad_input_gives_one_error_line_and_exit_2(args, msg, capsys, monkeypatch) -> None:  # noqa: ANN001
    code, _, err = run_cli(args, capsys, monkeypatch)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and msg in lines[0], err
    assert not Path("/tmp/never").exists()


@pytest.mark.parametrize("args, msg", [
    (["attribute", "eval"], "Missing argument"),
    (["attribute", "eval", "/nonexistent/run", "--tiles", "abc"], "Invalid value for '--tiles'"),
    (["zoo", "import", "/nonexistent/model.pth", "--sigma", "0"], "Invalid value for '--sigma'"),
    (["zoo", "list", "--no-such-option"], "No such option"),
])
def test_usage_errors_end_without_a_traceback(args, msg, capsys, monkeypatch) -> None:  # noqa: ANN001
    # typer vendors click (typer._click): its usage errors must be shown like click's, with exit code 2
    code, _, err = run_cli(args, capsys, monkeypatch)
    assert code == 2 and msg in err and "Traceback" not in err, err


def test_list_eval_and_sr_on_a_tiny_zoo(tiny_zoo: Path, tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = run_cli(["zoo", "list", str(tiny_zoo), "--json"], capsys, monkeypatch)
    assert code == 0
    assert sorted(e["id"] for e in json.loads(out)) == ["EDSR-skimage-x2-L1-s1", "RCAN-skimage-x4-L1-s1"]

    imgs = tmp_path / "hr"
    rng = np.random.default_rng(0)
    write_png(imgs / "a.png", rng.random((36, 44, 3)) * 0.2 + 0.4)
    code, out, _ = run_cli(["zoo", "eval", str(tiny_zoo), "--images", str(imgs), "--json", "--device", "cpu"],
                           capsys, monkeypatch)
    rows = json.loads(out)
    assert code == 0 and {r["id"] for r in rows} == {"EDSR-skimage-x2-L1-s1", "RCAN-skimage-x4-L1-s1"}
    assert all(np.isfinite(r["psnr"]) and np.isfinite(r["bicubic_psnr"]) for r in rows)

    out_png = tmp_path / "sr.png"
    code, _, err = run_cli(["sr", "RCAN-skimage-x4-L1-s1", str(imgs / "a.png"), "-o", str(out_png),
                            "--zoo", str(tiny_zoo)], capsys, monkeypatch)
    assert code == 0, err
    assert read_image(out_png).shape == (144, 176, 3)

    code, _, err = run_cli(["sr", "NOPE-skimage-x4-L1-s1", str(imgs / "a.png"), "-o", str(out_png),
                            "--zoo", str(tiny_zoo)], capsys, monkeypatch)
    assert code == 2 and "error:" in err


def _command_paths() -> list[list[str]]:
    import typer.main

    from srprint.cli import app

    paths: list[list[str]] = []

    def walk(cmd, prefix: list[str]) -> None:  # noqa: ANN001
        paths.append(prefix)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_every_command_renders_its_help(capsys, monkeypatch) -> None:  # noqa: ANN001
    # help strings are rich markup: a stray "[/X]" in one crashes `--help` of that command
    paths = _command_paths()
    assert ["corpus", "prepare"] in paths and len(paths) > 20
    for path in paths:
        code, out, err = run_cli([*path, "--help"], capsys, monkeypatch)
        assert code == 0, (path, err[-300:])
        assert "Usage" in out, path


def test_cli_starts_without_the_heavy_libraries() -> None:
    # `srprint --help` and usage errors must answer at once: torch, pandas, timm, spandrel and
    # scikit-image load inside the commands that use them (package attributes are lazy)
    import subprocess

    code = ("import sys, srprint.cli\n"
            "heavy = [m for m in ('torch', 'pandas', 'timm', 'spandrel', 'skimage') if m in sys.modules]\n"
            "print(','.join(heavy))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ""
    assert ["zoo", "import"] in _command_paths()  # the import command moved out of the heavy package


def test_lazy_package_attributes_still_resolve() -> None:
    import srprint.classify as classify
    import srprint.verification as verification

    assert callable(classify.train_run) and "train_run" in classify.__all__
    assert abs(verification.eta_threshold(30, 0.015, 0.05) - 1.387e-4) < 1e-6
    with pytest.raises(AttributeError):
        _ = verification.no_such_function
