"""Build scanners and printers from explicit settings: the one place the composition root,
the CLI and the tests turn ``[scanner]`` / ``[printer]`` values into driver objects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from drivers.errors import DeviceConfigError
from drivers.keyboard_wedge import KeyboardWedge
from drivers.printers import (
    FilePrinter,
    NetworkPrinter,
    NullPrinter,
    Printer,
    SerialPrinter,
    UsbPrinter,
)
from drivers.scan_framing import Suffix
from drivers.serial_scanner import Parity, SerialScanner

PrinterKind = Literal["usb", "serial", "network", "file", "none"]
ScannerKind = Literal["serial", "keyboard", "none"]


def make_printer(
    kind: str,
    *,
    path: str | Path = "receipts.bin",
    host: str = "",
    port: int = 9100,
    device: str = "/dev/ttyUSB0",
    baudrate: int = 9600,
    vendor_id: int = 0,
    product_id: int = 0,
    timeout: float = 5.0,
) -> Printer:
    """A closed printer connection of ``kind``; nothing is opened here.

    Raises ``DeviceConfigError`` for an unknown kind or a setting the kind needs but lacks.
    """
    if kind == "none":
        return NullPrinter()
    if kind == "file":
        return FilePrinter(path)
    if kind == "network":
        if not host:
            raise DeviceConfigError("A network printer needs [printer] host.")
        return NetworkPrinter(host, port, timeout)
    if kind == "serial":
        return SerialPrinter(device, baudrate, timeout)
    if kind == "usb":
        if not vendor_id or not product_id:
            raise DeviceConfigError("A USB printer needs [printer] vendor_id and product_id.")
        return UsbPrinter(vendor_id, product_id, timeout)
    raise DeviceConfigError(
        f"Printer kind {kind!r} is not known; use usb, serial, network, file or none."
    )


def make_serial_scanner(
    port: str,
    on_event: Callable[[object], None],
    *,
    baudrate: int = 9600,
    parity: str = "N",
    stopbits: float = 1,
    suffix: str = "cr",
    prefix: str = "",
    max_length: int = 4096,
    gap_ms: float = 100.0,
) -> SerialScanner:
    """A serial scanner (not started); raises ``DeviceConfigError`` for a bad suffix/parity."""
    if suffix not in ("cr", "lf", "crlf", "none"):
        raise DeviceConfigError(
            f"Scanner suffix {suffix!r} is not known; use cr, lf, crlf or none."
        )
    if parity not in ("N", "E", "O", "M", "S"):
        raise DeviceConfigError(f"Scanner parity {parity!r} is not known; use N, E or O.")
    checked_suffix: Suffix = suffix  # type: ignore[assignment]  # checked above
    checked_parity: Parity = parity  # type: ignore[assignment]  # checked above
    return SerialScanner(
        port,
        baudrate,
        checked_parity,
        stopbits,
        checked_suffix,
        prefix,
        max_length,
        gap_ms,
        on_event,
    )


def make_keyboard_wedge(max_gap_ms: float = 50.0, min_length: int = 4) -> KeyboardWedge:
    """The burst detector for a keyboard-wedge scanner."""
    return KeyboardWedge(max_gap_ms, min_length)
