"""Turn ESC/POS bytes back into text: follow ``ESC t`` code-page switches, note images and codes.

Used by the golden tests, by ``till devices test-print`` to check what it wrote, and by the
demo to show what a file printer received. Knows the commands till and python-escpos emit;
anything else raises :class:`DecodeError` rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.escpos_env import escpos_capabilities, profile_data

ESC, GS, DLE = 0x1B, 0x1D, 0x10

# ESC commands followed by a fixed number of argument bytes.
_ESC_FIXED = {
    ord("!"): 1,  # print mode
    ord("E"): 1,  # bold
    ord("-"): 1,  # underline
    ord("M"): 1,  # font
    ord("a"): 1,  # align
    ord("d"): 1,  # print and feed n lines (handled for newlines)
    ord("J"): 1,
    ord("3"): 1,  # line spacing
    ord("2"): 0,
    ord("G"): 1,
    ord("V"): 1,
    ord("{"): 1,
    ord("p"): 3,  # cash drawer
    ord("c"): 2,
    ord("@"): 0,
    ord("t"): 1,
}
_GS_FIXED = {
    ord("!"): 1,
    ord("B"): 1,
    ord("h"): 1,
    ord("w"): 1,
    ord("H"): 1,
    ord("f"): 1,
    ord("b"): 1,
    ord("7"): 1,
}


class DecodeError(ValueError):
    """The bytes contain a command the decoder does not know, or are cut short."""


@dataclass
class DecodedReceipt:
    """What a printer would show: the text lines, and what was not text."""

    text: str = ""
    codepages: list[str] = field(default_factory=list)
    raster_images: list[tuple[int, int, bytes]] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    cuts: int = 0

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


class _Decoder:
    def __init__(self, data: bytes, profile: str) -> None:
        self.data = data
        self.pos = 0
        self.slots: dict[int, str] = {
            int(k): v for k, v in profile_data(profile)["codePages"].items()
        }
        self.encodings = escpos_capabilities().CAPABILITIES["encodings"]
        self.codepage = self.slots.get(0, "CP437")
        self.out: list[str] = []
        self.result = DecodedReceipt()

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise DecodeError(f"Command cut short at byte {self.pos}.")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def char(self, value: int) -> str:
        if value < 0x80:
            return chr(value)
        info = self.encodings.get(self.codepage, {})
        if "data" in info:
            return "".join(info["data"])[value - 0x80]
        try:
            return bytes([value]).decode(info["python_encode"])
        except (KeyError, UnicodeDecodeError):
            return "\ufffd"

    def esc(self) -> None:
        command = self.byte()
        if command == ord("*"):  # column image
            mode, low, high = self.take(3)
            self.take((low + 256 * high) * (3 if mode >= 32 else 1))
            return
        if command not in _ESC_FIXED:
            raise DecodeError(f"Unknown command ESC 0x{command:02x} at byte {self.pos - 2}.")
        args = self.take(_ESC_FIXED[command])
        if command == ord("@"):
            self.codepage = self.slots.get(0, "CP437")
        elif command == ord("t"):
            if args[0] not in self.slots:
                raise DecodeError(f"ESC t {args[0]} selects a slot this profile does not have.")
            self.codepage = self.slots[args[0]]
            self.result.codepages.append(self.codepage)
        elif command == ord("d"):
            self.out.append("\n" * args[0])

    def gs(self) -> None:
        command = self.byte()
        if command in _GS_FIXED:
            self.take(_GS_FIXED[command])
        elif command == ord("V"):
            mode = self.byte()
            if mode >= 65:
                self.take(1)
            self.result.cuts += 1
        elif command == ord("v"):  # GS v 0 m xL xH yL yH data
            self.take(2)
            xl, xh, yl, yh = self.take(4)
            width_bytes, height = xl + 256 * xh, yl + 256 * yh
            self.result.raster_images.append(
                (width_bytes * 8, height, self.take(width_bytes * height))
            )
        elif command == ord("("):
            kind = self.byte()
            low, high = self.take(2)
            body = self.take(low + 256 * high)
            if kind == ord("k") and body[:2] == b"1P":
                self.result.qr_codes.append(body[3:].decode("utf-8"))
            elif kind == ord("L") and body[:2] == b"0p":
                self.result.raster_images.append((0, 0, body))
        elif command == ord("k"):
            mode = self.byte()
            if mode <= 6:
                end = self.data.index(0, self.pos)
                payload = self.take(end - self.pos)
                self.take(1)
            else:
                payload = self.take(self.byte())
            text = payload.decode("ascii", errors="replace")
            self.result.barcodes.append(text[2:] if text.startswith("{") else text)
        else:
            raise DecodeError(f"Unknown command GS 0x{command:02x} at byte {self.pos - 2}.")

    def run(self) -> DecodedReceipt:
        while self.pos < len(self.data):
            value = self.byte()
            if value == ESC:
                self.esc()
            elif value == GS:
                self.gs()
            elif value == DLE:
                self.take(2)  # DLE EOT n: a status query
            elif value == 0x0A:
                self.out.append("\n")
            elif value in (0x0D, 0x00):
                continue
            elif value < 0x20:
                raise DecodeError(f"Unknown control byte 0x{value:02x} at byte {self.pos - 1}.")
            else:
                self.out.append(self.char(value))
        self.result.text = "".join(self.out)
        return self.result


def decode_escpos(data: bytes, profile: str) -> DecodedReceipt:
    """Decode ``data`` as printed by a printer of ``profile``; raises :class:`DecodeError`."""
    return _Decoder(data, profile).run()
