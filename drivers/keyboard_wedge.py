"""Tell a keyboard-wedge scanner's burst from a person typing, and undo the Cyrillic layout.

Pure: fed ``(key, timestamp)`` pairs (a character, or ``"enter"``; timestamps in seconds, e.g.
Textual's ``Message.time``). Scanners send keys 5–30 ms apart, people more than 80 ms apart:
a run of at least ``min_length`` characters, each within ``max_gap_ms`` of the previous, ended
by Enter, is a scan. Characters are held back while they might still be a scan and released as
:class:`Typed` as soon as a gap shows they were typed (call :meth:`KeyboardWedge.poll` from a
timer so a lone keystroke is not held). With a ЙЦУКЕН (Russian or Ukrainian) layout active the
scanner's letters arrive as Cyrillic, and under the Kazakh layout even its digits do; both are
mapped back by :func:`loyalty.layouts.to_latin_layout`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from drivers.scan_events import Scanned
from drivers.scan_framing import AIM_ID
from loyalty.layouts import to_latin_layout

MIN_SCAN_LENGTH = 6
"""Shorter bursts are amounts typed fast, never codes (the till's sale line uses this too)."""


@dataclass(frozen=True)
class Typed:
    """Keys a person typed, to hand on to the focused input ("\\n" for Enter)."""

    text: str


WedgeEvent = Scanned | Typed


def _utc_now() -> datetime:
    return datetime.now(UTC)


class KeyboardWedge:
    """The burst detector; see the module docstring. Not thread-safe (one UI thread feeds it)."""

    def __init__(
        self,
        max_gap_ms: float = 50.0,
        min_length: int = 4,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.max_gap = max_gap_ms / 1000.0
        self.min_length = min_length
        self._wall_clock = wall_clock
        self._held: list[str] = []
        self._last_at: float | None = None

    def feed(self, key: str, at: float) -> list[WedgeEvent]:
        """Events caused by ``key`` pressed at ``at`` (seconds), in order."""
        out = self.poll(at)
        if key == "enter":
            out += self._enter()
        elif len(key) == 1:
            self._held.append(key)
            self._last_at = at
        else:
            out += self._release()  # a named key (arrows, F-keys) ends any burst
        return out

    def poll(self, now: float) -> list[WedgeEvent]:
        """Release held keys once ``max_gap_ms`` passed without another key."""
        if self._last_at is not None and now - self._last_at > self.max_gap:
            return self._release()
        return []

    def _enter(self) -> list[WedgeEvent]:
        if len(self._held) >= self.min_length:
            raw = "".join(self._held)
            self._held.clear()
            self._last_at = None
            code = to_latin_layout(raw)
            symbology = None
            match = AIM_ID.match(code)
            if match and len(code) > match.end():
                symbology, code = match.group(0), code[match.end() :]
            return [Scanned(code, symbology, "keyboard", self._wall_clock())]
        return [*self._release(), Typed("\n")]

    def _release(self) -> list[WedgeEvent]:
        self._last_at = None
        if not self._held:
            return []
        text = "".join(self._held)
        self._held.clear()
        return [Typed(text)]
