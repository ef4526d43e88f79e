"""Drive a program in a tmux session: send keys, read the screen, wait for it to say something.

For the end-to-end tests that run ``till demo`` as a user does, in a real terminal.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


class Tmux:
    """One detached tmux session, by name."""

    def __init__(self, session: str) -> None:
        self.session = session

    def run(self, *args: str) -> str:
        """A tmux command's output (never raises: a failed command reads as empty)."""
        result = subprocess.run(
            ["tmux", *args], capture_output=True, text=True, timeout=10, check=False
        )
        return result.stdout

    def screen(self) -> str:
        """What the session's pane shows now."""
        return self.run("capture-pane", "-t", self.session, "-p")

    def wait_for(self, what: Callable[[], bool], timeout: float, describe: str) -> None:
        """Until ``what()`` holds (bounded); the failure shows the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {describe}; screen:\n{self.screen()}")

    def keys(self, *sequence: str) -> None:
        """Type keys one at a time, as a person would."""
        for key in sequence:
            self.run("send-keys", "-t", self.session, key)
            time.sleep(0.15)
