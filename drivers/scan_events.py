"""What scanners report: frozen events posted from reader threads to whoever listens.

``Scanned`` is a decoded code; ``UnreadableScan`` is input that was rejected (noise, NUL bytes,
invalid UTF-8, an over-long line) with the reason; ``ScannerState`` says the port was lost or is
back. The terminal wraps them in Textual messages; nothing here knows about Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ScanSource = Literal["serial", "keyboard"]

_AIM_NAMES = {
    "A": "Code 39",
    "C": "Code 128",
    "d": "Data Matrix",
    "E": "EAN/UPC",
    "e": "GS1 DataBar",
    "F": "Codabar",
    "G": "Code 93",
    "I": "Interleaved 2 of 5",
    "L": "PDF417",
    "Q": "QR Code",
    "z": "Aztec",
}


@dataclass(frozen=True)
class Scanned:
    """A code read by a scanner; ``symbology`` is the AIM identifier (e.g. "]Q1") if sent."""

    code: str
    symbology: str | None
    source: ScanSource
    at: datetime


@dataclass(frozen=True)
class UnreadableScan:
    """Input that was not a usable code, and why (one sentence for the cashier's screen)."""

    reason: str
    source: ScanSource
    at: datetime


@dataclass(frozen=True)
class ScannerState:
    """The scanner port was lost (``connected`` False) or opened again."""

    connected: bool
    reason: str
    port: str = ""


ScanEvent = Scanned | UnreadableScan | ScannerState


def symbology_name(aim_id: str | None) -> str:
    """A readable name for an AIM identifier such as "]E0" ("EAN/UPC"); "unknown" if none."""
    if not aim_id or len(aim_id) < 2:
        return "unknown"
    return _AIM_NAMES.get(aim_id[1], f"AIM {aim_id}")
