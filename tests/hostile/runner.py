"""Run the real CLI in a subprocess, optionally without root's power to ignore file permissions."""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _drop_permission_override() -> None:
    """In the child, before exec: root loses CAP_DAC_OVERRIDE & co, so chmod 0o555 binds it too."""
    _default_sigint()
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)


def _default_sigint() -> None:
    """In the child, before exec: the default SIGINT disposition, even when this test run inherited an
    ignored one (a job started in the background by a non-interactive shell)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _file_size_limit(limit: int) -> Callable[[], None]:
    """In the child, before exec: no file may grow past ``limit`` bytes (EFBIG, as on a full disk)."""

    def pre() -> None:
        _default_sigint()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return pre


@functools.cache
def readonly_is_enforced() -> bool:
    """Whether a child run by :func:`run_cli` (``unprivileged=True``) is refused by a 0o555 folder.

    False where root keeps its permission override (prctl refused): the read-only cases cannot
    test anything there and are skipped, instead of passing or failing for the wrong reason.
    """
    with tempfile.TemporaryDirectory() as tmp:
        ro = Path(tmp) / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            proc = subprocess.run([sys.executable, "-c", f"open({str(ro / 'x')!r}, 'w')"], capture_output=True,
                                  preexec_fn=_drop_permission_override, timeout=60)
        finally:
            ro.chmod(0o755)
        return proc.returncode != 0


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "SRPRINT_HOME": str(home), "SRPRINT_QUIET": "1", "COLUMNS": "200", **extra}
    env.pop("FORCE_COLOR", None)
    return env


def run_cli(args: list[str], *, home: Path, cwd: Path, unprivileged: bool = False, timeout: float = 300,
            env: dict[str, str] | None = None, file_size_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``srprint ARGS`` in a child that starts with the default SIGINT disposition.

    ``unprivileged`` drops root's permission override; ``file_size_limit`` makes every write past that
    many bytes fail (a full disk, as the child sees it).
    """
    pre = _drop_permission_override if unprivileged else _default_sigint
    if file_size_limit is not None:
        pre = _file_size_limit(file_size_limit)
    return subprocess.run(
        [sys.executable, "-m", "srprint.cli", *args], capture_output=True, text=True, errors="backslashreplace",
        cwd=cwd, env=env or cli_env(home), timeout=timeout, preexec_fn=pre,
    )


def popen_cli(args: list[str], *, home: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "srprint.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=cli_env(home),
                            preexec_fn=_default_sigint)


def error_lines(stderr: str) -> list[str]:
    """The stderr lines that are not warnings or blank."""
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(("warning:", "note:"))]
