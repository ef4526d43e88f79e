"""Printer status from ESC/POS real-time replies (``DLE EOT 1`` and ``DLE EOT 4``).

python-escpos answers "paper OK" when the printer sent nothing; here no reply, or a reply
without the fixed bits every ESC/POS status byte carries, is "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

QUERY_ONLINE: Final = b"\x10\x04\x01"
QUERY_PAPER: Final = b"\x10\x04\x04"

Paper = Literal["ok", "near_end", "out", "unknown"]


@dataclass(frozen=True)
class PrinterStatus:
    """``online`` is None and ``paper`` "unknown" where the connection cannot tell."""

    online: bool | None
    paper: Paper
    detail: str = ""

    @property
    def can_print(self) -> bool:
        """False only when the printer positively said it is offline or out of paper."""
        return self.online is not False and self.paper != "out"


UNKNOWN: Final = PrinterStatus(None, "unknown", "This connection cannot report status.")


def _valid(reply: bytes) -> bool:
    # Bits 1 and 4 are fixed to 1, bits 0 and 7 to 0 in every real-time status byte.
    return len(reply) >= 1 and reply[-1] & 0x93 == 0x12


def parse_status(online_reply: bytes, paper_reply: bytes) -> PrinterStatus:
    """Status from the replies to :data:`QUERY_ONLINE` and :data:`QUERY_PAPER`."""
    online: bool | None = None
    if _valid(online_reply):
        online = not online_reply[-1] & 0x08
    paper: Paper = "unknown"
    if _valid(paper_reply):
        byte = paper_reply[-1]
        paper = "out" if byte & 0x60 else "near_end" if byte & 0x0C else "ok"
    if online is None and paper == "unknown":
        return PrinterStatus(None, "unknown", "The printer did not answer the status query.")
    details = {
        "out": "The printer is out of paper.",
        "near_end": "The paper is running out.",
    }
    if online is False:
        detail = "The printer is offline (cover open or error)."
    else:
        detail = details.get(paper, "The printer is ready.")
    return PrinterStatus(online, paper, detail)
