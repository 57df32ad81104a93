"""The report in a real browser: headless Chromium renders it, takes a screenshot, and logs nothing.

``make test`` installs Debian's ``chromium`` when it is missing; under ``CI=true`` a missing browser
fails the test instead of skipping it.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from srprint.report.html import write_report

from .test_report import _tiny_study
from .test_tables import tables_study

SIZE = (1280, 1600)


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (make test installs Debian's chromium when it is missing)")
        pytest.skip("chromium is not installed")
    return exe


def screenshot(page: Path, png: Path, profile: Path) -> list[str]:
    """Screenshot ``page`` in headless Chromium; return the console lines it logged."""
    # the flags keep a closed network quiet: no background, component or sync connections
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
           f"--window-size={SIZE[0]},{SIZE[1]}", f"--screenshot={png}", page.resolve().as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    return [line for line in res.stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_headless_chromium_without_console_messages(tmp_path: Path) -> None:
    page = write_report(_tiny_study(tmp_path), tmp_path / "report.html")
    png = tmp_path / "shot.png"
    console = screenshot(page, png, tmp_path / "profile")
    assert console == []
    img = Image.open(io.BytesIO(png.read_bytes()))
    assert img.size == SIZE
    # the page is drawn: not a blank canvas (text, tables and the figure put many shades on it)
    assert len(set(img.convert("L").getdata())) > 20


def test_the_report_of_result_tables_renders_without_console_messages(tmp_path: Path) -> None:
    page = write_report(tables_study(tmp_path / "mini"), tmp_path / "tables.html")
    png = tmp_path / "tables.png"
    assert screenshot(page, png, tmp_path / "profile") == []
    assert len(set(Image.open(png).convert("L").getdata())) > 20


def test_the_console_check_sees_a_page_error(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p>"
                    "<script>console.error('boom'); missing();</script></body></html>")
    console = screenshot(page, tmp_path / "b.png", tmp_path / "profile")
    assert any("boom" in line for line in console) and any("missing" in line for line in console)
