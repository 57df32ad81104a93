"""Regenerate the README's screenshot of the demo report (docs/report_demo.png) in headless Chromium.

    python scripts/screenshot_report.py [REPORT_HTML]     # default: $SRPRINT_HOME/demo/report.html

Run ``make demo`` first. Needs Debian's ``chromium`` (``make test`` installs it when missing).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from srprint.config import srprint_home

OUT = Path(__file__).resolve().parents[1] / "docs" / "report_demo.png"


def main() -> None:
    page = Path(sys.argv[1]) if len(sys.argv) > 1 else srprint_home() / "demo" / "report.html"
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None or not page.is_file():
        sys.exit(f"error: needs chromium and {page} (run make demo first)")
    OUT.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1100,1250",
                        f"--screenshot={OUT}", page.resolve().as_uri()], check=True, capture_output=True, timeout=180)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
