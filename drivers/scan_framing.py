"""Cut a scanner's byte stream into codes: pure, fed bytes and the time they arrived.

Framing is by terminator (CR, LF or CRLF — any CR or LF ends a code, so a scanner set to CRLF
on a till set to CR still works) or, for scanners that send none, by a pause in the stream.
An optional prefix and an AIM symbology identifier (``]E0``, ``]C1``, ``]Q1`` …) are stripped;
the AIM id is kept as the symbology. A partial code is dropped after a pause, a code longer
than ``max_length`` is dropped whole, and NUL bytes, invalid UTF-8 or control characters make a
frame unreadable — each as a :class:`Rejected` with a reason, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Suffix = Literal["cr", "lf", "crlf", "none"]

AIM_ID: Final = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_TERMINATORS: Final = b"\r\n"
_GS1_SEPARATOR: Final = "\x1d"  # FNC1 in GS1 codes; legitimate inside a code


@dataclass(frozen=True)
class Frame:
    """A decoded code."""

    code: str
    symbology: str | None


@dataclass(frozen=True)
class Rejected:
    """Bytes that were not a usable code."""

    reason: str


FrameResult = Frame | Rejected


def decode_frame(raw: bytes, prefix: bytes = b"") -> FrameResult | None:
    """One terminated frame as a code, a rejection, or None when it is empty."""
    if prefix:
        if not raw.startswith(prefix):
            return Rejected("The scan did not start with the configured prefix.")
        raw = raw[len(prefix) :]
    if not raw.strip():
        return None
    if b"\x00" in raw:
        return Rejected("The scan contained NUL bytes (noise on the line?).")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Rejected("The scan was not valid text (wrong baud rate or noise?).")
    text = text.strip(" ")
    if any((ord(ch) < 0x20 and ch != _GS1_SEPARATOR) or 0x7F <= ord(ch) < 0xA0 for ch in text):
        return Rejected("The scan contained control characters (wrong baud rate or noise?).")
    symbology = None
    match = AIM_ID.match(text)
    if match:
        symbology, text = match.group(0), text[match.end() :]
    if not text:
        return Rejected("The scan had a symbology identifier but no code.")
    return Frame(text, symbology)


class ScanFramer:
    """Turns chunks of bytes into :class:`Frame` / :class:`Rejected` results.

    ``feed(data, now)`` takes the bytes read at monotonic time ``now`` (seconds); ``poll(now)``
    ends a frame by pause when no bytes came. Both return the completed results in order.
    """

    def __init__(
        self,
        suffix: Suffix = "cr",
        prefix: bytes | str = b"",
        max_length: int = 4096,
        gap_ms: float = 100.0,
    ) -> None:
        if max_length < 1:
            raise ValueError("max_length must be at least 1.")
        self.suffix = suffix
        self.prefix = prefix.encode() if isinstance(prefix, str) else prefix
        self.max_length = max_length
        self.gap = gap_ms / 1000.0
        self._buffer = bytearray()
        self._last_byte_at: float | None = None
        self._discarding = False

    @property
    def pending(self) -> int:
        """Bytes held in an unfinished frame."""
        return len(self._buffer)

    def feed(self, data: bytes, now: float) -> list[FrameResult]:
        """Results completed by ``data`` (and by a pause before it)."""
        results = self.poll(now)
        if not data:
            return results
        self._last_byte_at = now
        if self.suffix == "none":
            self._append(data, results)
            return results
        start = 0
        for index, byte in enumerate(data):
            if byte in _TERMINATORS:
                self._append(data[start:index], results)
                self._end_frame(results)
                start = index + 1
        self._append(data[start:], results)
        return results

    def poll(self, now: float) -> list[FrameResult]:
        """End a frame when nothing arrived for ``gap_ms``; returns what that completed."""
        results: list[FrameResult] = []
        if self._last_byte_at is None or now - self._last_byte_at < self.gap:
            return results
        self._last_byte_at = None
        if self.suffix == "none":
            self._end_frame(results)
        elif self._buffer:
            self._buffer.clear()
            results.append(Rejected("An incomplete scan was dropped after a pause."))
        self._discarding = False
        return results

    def _append(self, chunk: bytes, results: list[FrameResult]) -> None:
        if not chunk or self._discarding:
            return
        self._buffer += chunk
        if len(self._buffer) > self.max_length:
            self._buffer.clear()
            # Throw the rest of this frame away too, up to its terminator or pause.
            self._discarding = True
            results.append(
                Rejected(f"The scan was longer than {self.max_length} bytes and was dropped.")
            )

    def _end_frame(self, results: list[FrameResult]) -> None:
        if self._discarding:
            self._discarding = False
            return
        raw = bytes(self._buffer)
        self._buffer.clear()
        result = decode_frame(raw, self.prefix)
        if result is not None:
            results.append(result)
