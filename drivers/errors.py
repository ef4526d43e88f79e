"""The device errors: one hierarchy, one clear sentence each.

::

    DeviceError
    ├── ScannerError            the scanner port cannot be opened or configured
    ├── PrinterError
    │   ├── PrinterUnavailable  the printer cannot be reached (off, unplugged, wrong address)
    │   ├── PrinterTimeout      the printer stopped accepting data in time
    │   └── PrinterWriteError   the connection broke while sending
    ├── RenderError             a receipt cannot be turned into bytes for this profile
    └── DeviceConfigError       a device setting is invalid (unknown kind, profile, code page)

The message of each is a sentence fit for an admin's screen; the cause carries the detail.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error raised by ``drivers``."""


class ScannerError(DeviceError):
    """The scanner port cannot be opened or configured."""


class PrinterError(DeviceError):
    """The printer could not print."""


class PrinterUnavailable(PrinterError):
    """The printer cannot be reached: off, unplugged or at the wrong address."""


class PrinterTimeout(PrinterError):
    """The printer stopped accepting data within the timeout."""


class PrinterWriteError(PrinterError):
    """The connection broke while the receipt was being sent."""


class RenderError(DeviceError):
    """A receipt cannot be rendered for the configured printer profile."""


class DeviceConfigError(DeviceError):
    """A device setting is invalid: unknown kind, profile or code page."""
