"""The sale screen's one input line, which also tells a keyboard-wedge scan from typing.

A wedge scanner types a whole code in a burst (5–30 ms between keys) and ends it with Enter;
people type more than 80 ms apart. Each printable key's arrival time is kept, and on Enter the
text counts as scanned when it has at least :data:`MIN_SCAN_LENGTH` characters that all came
closer together than ``max_gap_ms``.
"""

from __future__ import annotations

import itertools

from textual import events
from textual.message import Message
from textual.widgets import Input

from drivers.keyboard_wedge import MIN_SCAN_LENGTH


class EntryInput(Input):
    """An Input that submits with ``scanned`` set when the text arrived as a scanner burst."""

    class Entered(Message):
        """Enter was pressed; ``value`` is the text (possibly empty)."""

        def __init__(self, value: str, scanned: bool) -> None:
            super().__init__()
            self.value = value
            """What was typed or scanned."""
            self.scanned = scanned
            """True when it arrived as a keyboard-wedge burst."""

    def __init__(self, *, max_gap_ms: int, placeholder: str, id: str) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self.max_gap = max_gap_ms / 1000
        """Keys closer together than this (seconds) are a scanner burst."""
        self._times: list[float] = []

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable:
            self._times.append(event.time)
        await super()._on_key(event)

    def looks_scanned(self) -> bool:
        """True when the current text arrived as one fast burst."""
        times = self._times
        if len(times) < MIN_SCAN_LENGTH or len(times) != len(self.value):
            return False
        return all(b - a <= self.max_gap for a, b in itertools.pairwise(times))

    async def action_submit(self) -> None:
        """Post :class:`Entered` instead of ``Input.Submitted`` and clear the line."""
        value, scanned = self.value, self.looks_scanned()
        self._times.clear()
        self.value = ""
        self.post_message(self.Entered(value, scanned))

    def clear_entry(self) -> None:
        """Empty the line (Esc)."""
        self._times.clear()
        self.value = ""
