"""Every command documents every option; flags look like flags; one output is always ``-o/--out``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from srprint import __version__
from srprint.cli import app


def _commands() -> Iterator[tuple[list[str], object]]:
    root = typer.main.get_command(app)

    def walk(cmd: object, path: list[str]) -> Iterator[tuple[list[str], object]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            yield path, cmd
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    yield from walk(root, [])


COMMANDS = list(_commands())


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) or "srprint" for p, _ in COMMANDS])
def test_every_option_is_documented(path: list[str], cmd: object) -> None:
    for param in cmd.params:  # type: ignore[attr-defined]
        if param.name == "help":
            continue
        assert getattr(param, "help", None), f"srprint {' '.join(path)}: {param.name} has no help text"
        opts = getattr(param, "opts", [])
        if "--out" in opts:
            assert "-o" in opts, f"srprint {' '.join(path)}: --out without -o"


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) or "srprint" for p, _ in COMMANDS])
def test_help_shows_flags_without_a_type(path: list[str], cmd: object) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "Usage:" in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"srprint {__version__}"


def test_renamed_options_are_rewritten_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    from srprint.cli_common import rewrite_renamed_options

    assert rewrite_renamed_options(["fen", "train", "--max-per-model=3", "--test-split", "val"]) == [
        "fen", "train", "--max-per-class=3", "--split", "val"]
    assert "deprecated" in capsys.readouterr().err
