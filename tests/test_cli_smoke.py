"""The command line answers --help and says plainly what is not built."""

from __future__ import annotations

import subprocess
import sys


def run_till(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from terminal.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_commands() -> None:
    result = run_till("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout
