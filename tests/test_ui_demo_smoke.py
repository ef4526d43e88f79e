"""End-to-end: ``till demo`` in tmux, a sale driven by keys and a scan through the pty.

The whole product as a user runs it: the server subprocess, the pty scanner fed from outside
(as a user would with printf), keystrokes sent to the real terminal, the receipt file checked,
and quitting through the manager's admin screen stops the server. tmux is required (it is part
of the CI image, like the other system tools the tests use).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.tmux import Tmux

ROOT = Path(__file__).resolve().parent.parent
SESSION = f"till-smoke-{os.getpid()}"


TMUX = Tmux(SESSION)
tmux, screen, wait_for, keys = TMUX.run, TMUX.screen, TMUX.wait_for, TMUX.keys


@pytest.mark.timeout(120)
def test_demo_sale_with_a_pty_scan_prints_a_receipt(tmp_path: Path) -> None:
    assert shutil.which("tmux"), "tmux is needed for the end-to-end smoke test"
    demo_dir = tmp_path / "demo"
    command = (
        f"cd {ROOT} && TILL_DEMO_DIR={demo_dir} TILL_TILL__LANGUAGE=en "
        f"{sys.executable} -m terminal demo; echo DEMO-EXIT=$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", command)
    try:
        # A tmux server started earlier may impose its own size on new windows.
        tmux("resize-window", "-t", SESSION, "-x", "120", "-y", "40")
        wait_for(lambda: "Press Enter to open the till" in screen(), 60, "the demo intro")
        feed = re.search(r"> (/dev/pts/\d+)", screen())
        assert feed is not None, screen()
        keys("Enter")
        wait_for(lambda: "till · store-1" in screen(), 30, "the login screen")
        time.sleep(0.5)  # the login form takes keys once it is focused
        keys("1", "Enter", "1111", "Enter")
        wait_for(lambda: "Scanner: ok" in screen(), 30, "the sale screen")
        with open(feed.group(1), "wb", buffering=0) as pty:
            pty.write(b"+79161234567\r")
        wait_for(lambda: "+7 916 ***-**-67" in screen(), 30, "the member panel")
        keys("1200", "Enter")
        wait_for(lambda: "Earn: +36" in screen(), 30, "the earn preview")
        keys("Enter")
        receipts = demo_dir / "receipts.bin"
        wait_for(lambda: receipts.exists() and receipts.stat().st_size > 0, 30, "the receipt")
        paper = receipts.read_bytes()
        assert b"\x1b@" in paper  # an ESC/POS receipt, initialised
        wait_for(lambda: "Done" in screen(), 30, "the sale to complete")
        check = re.search(r"Check ([0-9A-F]{8})", screen())
        assert check is not None and check.group(1).encode() in paper, screen()
        keys("F12")
        wait_for(lambda: "Manager PIN" in screen(), 15, "the manager PIN prompt")
        keys("9999", "Enter")
        # The form shows once the PIN is checked (F10 before that is not the admin's yet).
        wait_for(lambda: "API key (unchanged if empty)" in screen(), 15, "the admin screen")
        keys("F10")
        wait_for(lambda: "DEMO-EXIT=0" in screen(), 30, "the demo to stop")
        server_port = int((demo_dir / "server.port").read_text())
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import socket; socket.create_connection(('127.0.0.1', {server_port}), 1)",
            ],
            capture_output=True,
            timeout=10,
            check=False,
        )
        assert probe.returncode != 0, "the demo server is still listening after quitting"
    finally:
        tmux("kill-session", "-t", SESSION)


@pytest.mark.timeout(120)
def test_the_demo_owns_its_settings_and_describes_members_from_the_data(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TILL_DEMO_DIR": str(tmp_path / "demo"),
        "TILL_DEMO_NO_UI": "1",
        "TILL_TILL__LANGUAGE": "en",
        # Left in the shell from other work: the demo must not be steered by them.
        "TILL_SCANNER__KIND": "none",
        "TILL_PRINTER__KIND": "none",
    }
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    intro = result.stdout
    assert result.returncode == 0, result.stderr
    assert re.search(r"printf '\+79161234567\\r' > /dev/pts/\d+", intro), intro
    ignored = next(line for line in intro.splitlines() if "TILL_SCANNER__KIND" in line)
    assert "TILL_PRINTER__KIND" in ignored and "TILL_TILL__LANGUAGE" not in intro
    ivan = next(line for line in intro.splitlines() if "+79161234568" in line)
    assert "Silver" in ivan and "gold" not in ivan.lower(), ivan
