"""Printer connections: open, send bytes, ask status, close — explicitly, with timeouts.

Receipts are rendered to bytes beforehand (``drivers.render``), so a connection only moves
bytes: ``file`` (appends), ``network`` (raw TCP, port 9100), ``serial`` (pyserial with a write
timeout), ``usb`` (pyusb bulk endpoint) and ``none``. Nothing opens on attribute access and there
is no ``__del__``; call these from a worker thread, never from the UI thread.

Every method raises only :class:`~drivers.errors.PrinterError` subclasses:
``PrinterUnavailable`` (cannot open), ``PrinterTimeout``, ``PrinterWriteError``.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any, Protocol

from drivers.errors import PrinterError, PrinterTimeout, PrinterUnavailable, PrinterWriteError
from drivers.printer_status import QUERY_ONLINE, QUERY_PAPER, UNKNOWN, PrinterStatus, parse_status

log = logging.getLogger(__name__)


class Printer(Protocol):
    """A receipt printer connection."""

    description: str
    """Where the bytes go, for the admin's screen (e.g. "network 10.0.0.5:9100")."""

    def open(self) -> None:
        """Connect; raises ``PrinterUnavailable``."""

    def send(self, data: bytes) -> None:
        """Send all of ``data``; raises ``PrinterTimeout`` or ``PrinterWriteError``."""

    def status(self) -> PrinterStatus:
        """Online and paper state, "unknown" where the connection cannot tell."""

    def close(self) -> None:
        """Disconnect; never raises."""


class NullPrinter:
    """``kind = "none"``: accepts receipts and prints nothing."""

    description = "none"

    def open(self) -> None:
        """Nothing to open."""

    def send(self, data: bytes) -> None:
        log.debug("printer kind none: %d bytes discarded", len(data))

    def status(self) -> PrinterStatus:
        return PrinterStatus(None, "unknown", "No printer is configured.")

    def close(self) -> None:
        """Nothing to close."""


class FilePrinter:
    """Appends each receipt to ``path`` (a file, or a device node such as /dev/usb/lp0)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.description = f"file {self.path}"
        self._handle: Any = None

    def open(self) -> None:
        try:
            self._handle = self.path.open("ab")
        except OSError as exc:
            raise PrinterUnavailable(f"The printer file {self.path} cannot be opened.") from exc

    def send(self, data: bytes) -> None:
        if self._handle is None:
            self.open()
        try:
            self._handle.write(data)
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise PrinterWriteError(f"Writing to the printer file {self.path} failed.") from exc

    def status(self) -> PrinterStatus:
        return UNKNOWN

    def close(self) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:
                log.debug("closing %s failed", self.path, exc_info=True)
            self._handle = None


class NetworkPrinter:
    """Raw TCP (JetDirect, port 9100) with a timeout on connect, send and status reads."""

    def __init__(self, host: str, port: int = 9100, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.description = f"network {host}:{port}"
        self._socket: socket.socket | None = None

    def open(self) -> None:
        self.close()
        try:
            self._socket = socket.create_connection((self.host, self.port), self.timeout)
        except OSError as exc:
            raise PrinterUnavailable(
                f"The printer at {self.host}:{self.port} cannot be reached."
            ) from exc

    def _connected(self) -> socket.socket:
        if self._socket is None:
            self.open()
        assert self._socket is not None
        return self._socket

    def send(self, data: bytes) -> None:
        sock = self._connected()
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            self.close()
            raise PrinterTimeout(
                f"The printer at {self.host}:{self.port} stopped accepting data."
            ) from exc
        except OSError as exc:
            self.close()
            raise PrinterWriteError(
                f"The connection to the printer at {self.host}:{self.port} broke."
            ) from exc

    def _query(self, command: bytes) -> bytes:
        sock = self._connected()
        try:
            sock.sendall(command)
            # Many printers never answer; do not make the admin wait the full send timeout.
            sock.settimeout(min(self.timeout, 1.0))
            return sock.recv(1)
        except TimeoutError:
            return b""
        except OSError as exc:
            self.close()
            raise PrinterWriteError(
                f"The connection to the printer at {self.host}:{self.port} broke."
            ) from exc

    def status(self) -> PrinterStatus:
        try:
            return parse_status(self._query(QUERY_ONLINE), self._query(QUERY_PAPER))
        finally:
            if self._socket is not None:
                self._socket.settimeout(self.timeout)

    def close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                log.debug("closing printer socket failed", exc_info=True)
            self._socket = None


class SerialPrinter:
    """An RS-232 / USB-CDC printer through pyserial, with read and write timeouts."""

    def __init__(self, device: str, baudrate: int = 9600, timeout: float = 5.0) -> None:
        self.device = device
        self.baudrate = baudrate
        self.timeout = timeout
        self.description = f"serial {device} @ {baudrate}"
        self._port: Any = None

    def open(self) -> None:
        import serial  # lazy: keeps the module import free of device libraries

        self.close()
        try:
            self._port = serial.serial_for_url(
                self.device,
                baudrate=self.baudrate,
                timeout=min(self.timeout, 1.0),
                write_timeout=self.timeout,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PrinterUnavailable(f"The printer port {self.device} cannot be opened.") from exc

    def _opened(self) -> Any:
        if self._port is None:
            self.open()
        return self._port

    def send(self, data: bytes) -> None:
        import serial

        port = self._opened()
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            self.close()
            raise PrinterTimeout(f"The printer on {self.device} stopped accepting data.") from exc
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PrinterWriteError(f"The printer on {self.device} was disconnected.") from exc

    def _query(self, command: bytes) -> bytes:
        import serial

        port = self._opened()
        try:
            port.reset_input_buffer()
            port.write(command)
            reply: bytes = port.read(1)
            return reply
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PrinterWriteError(f"The printer on {self.device} was disconnected.") from exc

    def status(self) -> PrinterStatus:
        return parse_status(self._query(QUERY_ONLINE), self._query(QUERY_PAPER))

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:  # a vanished device may fail to close; it is gone either way
                log.debug("closing printer port failed", exc_info=True)
            self._port = None


class UsbPrinter:
    """A USB printer-class device by vendor and product id, through pyusb.

    ``finder`` defaults to ``usb.core.find``; tests pass their own because no USB device exists
    on a CI machine.
    """

    def __init__(
        self,
        vendor_id: int,
        product_id: int,
        timeout: float = 5.0,
        finder: Any = None,
    ) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.timeout_ms = int(timeout * 1000)
        self.description = f"usb {vendor_id:04x}:{product_id:04x}"
        self._finder = finder
        self._device: Any = None
        self._out: Any = None
        self._in: Any = None

    def open(self) -> None:
        import usb.core
        import usb.util

        finder = self._finder or usb.core.find
        try:
            device = finder(idVendor=self.vendor_id, idProduct=self.product_id)
        except Exception as exc:  # NoBackendError when libusb is missing
            raise PrinterUnavailable("USB printers cannot be used: libusb is missing.") from exc
        if device is None:
            raise PrinterUnavailable(f"No USB printer {self.description[4:]} is plugged in.")
        try:
            if device.is_kernel_driver_active(0):
                # usblp holds the interface; detach so we can write to it directly.
                device.detach_kernel_driver(0)
            device.set_configuration()
            interface = device.get_active_configuration()[(0, 0)]

            def direction(wanted: int) -> Any:
                return usb.util.find_descriptor(
                    interface,
                    custom_match=lambda e: (
                        usb.util.endpoint_direction(e.bEndpointAddress) == wanted
                    ),
                )

            self._out = direction(usb.util.ENDPOINT_OUT)
            self._in = direction(usb.util.ENDPOINT_IN)
        except Exception as exc:  # usb.core.USBError: permissions, busy interface
            raise PrinterUnavailable(
                f"The USB printer {self.description[4:]} cannot be opened (permissions?)."
            ) from exc
        if self._out is None:
            raise PrinterUnavailable(f"The USB device {self.description[4:]} is not a printer.")
        self._device = device

    def send(self, data: bytes) -> None:
        if self._device is None:
            self.open()
        import usb.core

        try:
            self._out.write(data, self.timeout_ms)
        except usb.core.USBTimeoutError as exc:
            raise PrinterTimeout("The USB printer stopped accepting data.") from exc
        except usb.core.USBError as exc:
            self.close()
            raise PrinterWriteError("The USB printer was disconnected.") from exc

    def _query(self, command: bytes) -> bytes:
        if self._in is None:
            return b""
        import usb.core

        try:
            self._out.write(command, self.timeout_ms)
            return bytes(self._in.read(self._in.wMaxPacketSize, self.timeout_ms))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            self.close()
            raise PrinterWriteError("The USB printer was disconnected.") from exc

    def status(self) -> PrinterStatus:
        if self._device is None:
            self.open()
        return parse_status(self._query(QUERY_ONLINE), self._query(QUERY_PAPER))

    def close(self) -> None:
        if self._device is not None:
            try:
                import usb.util

                usb.util.dispose_resources(self._device)
            except Exception:
                log.debug("releasing the USB printer failed", exc_info=True)
        self._device = self._out = self._in = None


__all__ = [
    "FilePrinter",
    "NetworkPrinter",
    "NullPrinter",
    "Printer",
    "PrinterError",
    "PrinterStatus",
    "SerialPrinter",
    "UsbPrinter",
]
