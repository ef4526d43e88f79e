"""Drivers built from the ``[printer]`` section: one mapping for the app, admin and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from terminal.config import Settings

if TYPE_CHECKING:
    from drivers.printers import Printer


def printer_for(settings: Settings) -> Printer:
    """The drivers' (closed) printer for ``[printer]``; raises the drivers' DeviceConfigError."""
    from drivers.factory import make_printer  # lazily: escpos stays out of start-up

    p = settings.printer
    return make_printer(
        p.kind,
        path=p.path,
        host=p.host,
        port=p.port,
        device=p.device,
        baudrate=p.baudrate,
        vendor_id=p.vendor_id,
        product_id=p.product_id,
        timeout=float(p.timeout),
    )
