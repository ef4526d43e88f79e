"""End-to-end: ``till demo`` with the bridge on, in tmux, and ``till bridge simulate`` playing
the cash register against it: a 30-line cart identified, spent on, fiscalised and refunded,
checked against the demo server's ledger.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.tmux import Tmux

ROOT = Path(__file__).resolve().parent.parent
SESSION = f"till-bridge-{os.getpid()}"


TMUX = Tmux(SESSION)
tmux, screen, wait_for, keys = TMUX.run, TMUX.screen, TMUX.wait_for, TMUX.keys


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def simulate(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    url = f"http://127.0.0.1:{port}"
    return subprocess.run(
        [sys.executable, "-m", "terminal", "bridge", "simulate", "--url", url, "--key", "", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.timeout(180)
def test_demo_with_the_bridge_on_serves_a_simulated_register(tmp_path: Path) -> None:
    assert shutil.which("tmux"), "tmux is needed for the end-to-end smoke test"
    demo_dir = tmp_path / "demo"
    port = free_port()
    command = (
        f"cd {ROOT} && TILL_DEMO_DIR={demo_dir} TILL_TILL__LANGUAGE=en "
        f"TILL_BRIDGE__ENABLED=true TILL_BRIDGE__PORT={port} "
        f"{sys.executable} -m terminal demo; echo DEMO-EXIT=$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", SESSION, "-x", "140", "-y", "40", command)
    try:
        tmux("resize-window", "-t", SESSION, "-x", "140", "-y", "40")
        wait_for(lambda: "Press Enter to open the till" in screen(), 60, "the demo intro")
        assert f"bridge listens on http://127.0.0.1:{port}" in screen(), screen()
        keys("Enter")
        wait_for(lambda: "till · store-1" in screen(), 30, "the login screen")
        time.sleep(0.5)  # the login form takes keys once it is focused
        keys("1", "Enter", "1111", "Enter")
        wait_for(lambda: "Scanner: ok" in screen(), 30, "the sale screen")

        # A register's receipt reaches the sale screen, and its cancellation clears it.
        shown = simulate(port, "--receipt", "D-0", "--item", "Milk:89.90:2", "--cancel")
        assert shown.returncode == 0, shown.stderr
        wait_for(lambda: "The register cancelled its check" in screen(), 30, "the register")

        result = simulate(
            port,
            "--receipt",
            "D-1",
            "--generate",
            "30",
            "--identify",
            "+79161234567",
            "--spend",
            "200",
            "--refund",
            "3:1",
        )
        assert result.returncode == 0, result.stderr
        assert "spent 200.00" in result.stdout
        assert "refund of D-1" in result.stdout
        with sqlite3.connect(demo_dir / "processing.sqlite3") as db:
            checks = db.execute("SELECT status, spend FROM checks").fetchall()
            returns = db.execute("SELECT given_back FROM returns").fetchall()
        assert checks == [("confirmed", 20000)]
        assert len(returns) == 1 and returns[0][0] > 0

        keys("F12")
        wait_for(lambda: "Manager PIN" in screen(), 15, "the manager PIN prompt")
        keys("9999", "Enter")
        # The form shows once the PIN is checked (F10 before that is not the admin's yet).
        wait_for(lambda: "API key (unchanged if empty)" in screen(), 15, "the admin screen")
        keys("F10")
        wait_for(lambda: "DEMO-EXIT=0" in screen(), 30, "the demo to stop")
        gone = simulate(port, "--item", "Milk:1")
        assert gone.returncode == 2, "the bridge is still listening after quitting"
    finally:
        tmux("kill-session", "-t", SESSION)
