"""What is plugged in: serial ports (with USB ids and /dev/serial/by-id names) and USB printers.

For ``till devices``. pyserial's ``comports()`` does not list ptys or socat links, so a port
that works may still be missing here; USB needs pyusb with libusb, and without libusb the
printer list is empty with a note instead of an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BY_ID = Path("/dev/serial/by-id")
_PRINTER_CLASS = 7


@dataclass(frozen=True)
class SerialPortInfo:
    """One serial port as the admin needs it to fill ``[scanner] port``."""

    device: str
    by_id: str | None
    vid: int | None
    pid: int | None
    serial_number: str | None
    description: str


@dataclass(frozen=True)
class UsbPrinterInfo:
    """One USB device with a printer-class interface."""

    vendor_id: int
    product_id: int
    manufacturer: str | None
    product: str | None


def _by_id_links(directory: Path) -> dict[str, str]:
    links: dict[str, str] = {}
    if directory.is_dir():
        for link in sorted(directory.iterdir()):
            links[os.path.realpath(link)] = str(link)
    return links


def serial_ports(by_id_dir: Path = BY_ID) -> list[SerialPortInfo]:
    """Serial ports pyserial can see, sorted by device name."""
    from serial.tools import list_ports

    links = _by_id_links(by_id_dir)
    found = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        found.append(
            SerialPortInfo(
                device=port.device,
                by_id=links.get(os.path.realpath(port.device)),
                vid=port.vid,
                pid=port.pid,
                serial_number=port.serial_number,
                description=port.description or "",
            )
        )
    return found


def _string(device: Any, index: int) -> str | None:
    import usb.util

    try:
        return str(usb.util.get_string(device, index)) if index else None
    except Exception:  # no permission to read strings; the ids are what matters
        return None


def _is_printer(device: Any) -> bool:
    if device.bDeviceClass == _PRINTER_CLASS:
        return True
    try:
        return any(
            interface.bInterfaceClass == _PRINTER_CLASS
            for configuration in device
            for interface in configuration
        )
    except Exception:
        return False


def usb_printers(finder: Any = None) -> tuple[list[UsbPrinterInfo], str | None]:
    """USB printers and a note when USB cannot be searched (no libusb)."""
    try:
        import usb.core

        devices = list((finder or usb.core.find)(find_all=True))
    except Exception as exc:  # usb.core.NoBackendError and friends
        return [], f"USB devices cannot be listed: {exc}."
    printers = [
        UsbPrinterInfo(
            device.idVendor,
            device.idProduct,
            _string(device, device.iManufacturer),
            _string(device, device.iProduct),
        )
        for device in devices
        if _is_printer(device)
    ]
    return printers, None
