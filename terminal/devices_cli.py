"""``till devices``: list scanners and printers, watch scans live, print a test receipt.

``till devices`` (or ``till devices list``) lists serial ports with USB ids and by-id paths and
the USB printers pyusb can see. ``test-scan`` shows decoded scans with their symbology and
timing until Ctrl+C (or ``--seconds``/``--count``): from the serial port, or, for a keyboard
scanner, typed into this terminal. ``test-print`` prints a sample receipt with
every letter of the language's alphabet, a QR code and a bonus block to the configured printer,
and says which letters had to go as images.

Exit status: 0 done, 1 a device failed, 2 the configuration cannot be used.
"""

from __future__ import annotations

import queue
import sys
import time
from datetime import UTC, datetime

import click

from loyalty.receipt import ReceiptLanguage
from terminal.cli_support import EXIT_CONFIG, settings_or_exit
from terminal.config import Settings
from terminal.device_settings import printer_for
from terminal.sentences import sentence

EXIT_DEVICE = 1

_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="config.toml to use (default: TILL_CONFIG or ./config.toml).",
)


def _chosen(config_file: str | None) -> str | None:
    """The config named here, else the one given to ``till devices --config`` (else None)."""
    if config_file is None:
        parent = click.get_current_context().parent
        config_file = parent.params.get("config_file") if parent is not None else None
    return config_file


def _settings(config_file: str | None) -> Settings:
    """The settings from :func:`_chosen`'s file (default: TILL_CONFIG or ./config.toml)."""
    return settings_or_exit(_chosen(config_file))


@click.group(invoke_without_command=True)
@_config_option
@click.pass_context
def devices(ctx: click.Context, config_file: str | None) -> None:
    """List and test scanners and printers (without a subcommand: list them)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_devices, config_file=config_file)


@devices.command("list")
@_config_option
def list_devices(config_file: str | None) -> None:
    """Serial ports (VID:PID, serial number, by-id path) and USB printers.

    Listing needs no configuration; a ``--config`` given is still checked, so a wrong path is
    said rather than ignored.
    """
    from drivers.device_list import serial_ports, usb_printers

    if (chosen := _chosen(config_file)) is not None:
        settings_or_exit(chosen)

    ports = serial_ports()
    click.echo("Serial ports:")
    if not ports:
        click.echo("  none found (ptys and socat links are not listed; they still work)")
    for port in ports:
        ids = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid else "-"
        click.echo(
            f"  {port.device}  usb={ids}  serial={port.serial_number or '-'}  {port.description}"
        )
        if port.by_id:
            click.echo(f"      by-id: {port.by_id}")
    printers, note = usb_printers()
    click.echo("USB printers:")
    if note:
        click.echo(f"  {note}")
    elif not printers:
        click.echo("  none found")
    for printer in printers:
        names = " ".join(filter(None, [printer.manufacturer, printer.product])) or "-"
        click.echo(
            f"  vendor_id=0x{printer.vendor_id:04x} product_id=0x{printer.product_id:04x}  {names}"
        )


@devices.command("test-scan")
@_config_option
@click.option("--port", default=None, help="serial port to try instead of [scanner] port.")
@click.option("--seconds", type=float, default=None, help="stop after this many seconds.")
@click.option("--count", type=int, default=None, help="stop after this many scans.")
def test_scan(
    config_file: str | None, port: str | None, seconds: float | None, count: int | None
) -> None:
    """Show decoded scans live with symbology and timing (Ctrl+C to stop)."""
    from drivers.factory import make_serial_scanner
    from drivers.scan_events import Scanned, ScannerState, UnreadableScan, symbology_name

    settings = _settings(config_file)
    scanner_settings = settings.scanner
    if scanner_settings.kind == "keyboard" and port is None:
        from terminal.keyboard_test_scan import test_keyboard_scan

        sys.exit(test_keyboard_scan(settings, seconds, count))
    if scanner_settings.kind != "serial" and port is None:
        click.echo(
            f"[scanner] kind is {scanner_settings.kind}: there is no scanner to test"
            " (set [scanner] kind, or pass --port).",
            err=True,
        )
        sys.exit(EXIT_CONFIG)
    events: queue.Queue[object] = queue.Queue()
    scanner = make_serial_scanner(
        port or scanner_settings.port,
        events.put,
        baudrate=scanner_settings.baudrate,
        parity=scanner_settings.parity,
        stopbits=scanner_settings.stopbits,
        suffix=scanner_settings.suffix,
        prefix=scanner_settings.prefix,
        max_length=scanner_settings.max_length,
        gap_ms=scanner_settings.gap_ms,
    )
    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    scans = 0
    click.echo(f"Listening on {scanner.port} at {scanner.baudrate} baud; Ctrl+C stops.")
    scanner.start()
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            stamp = f"+{time.monotonic() - started:8.3f}s"
            if isinstance(event, Scanned):
                scans += 1
                kind = f"{event.symbology} {symbology_name(event.symbology)}"
                click.echo(
                    f"{stamp}  {kind if event.symbology else '(no AIM id)'}  {event.code!r}"
                    f"  ({len(event.code)} chars)"
                )
                if count is not None and scans >= count:
                    break
            elif isinstance(event, UnreadableScan):
                click.echo(f"{stamp}  unreadable: {event.reason}")
            elif isinstance(event, ScannerState):
                click.echo(f"{stamp}  {event.reason}")
    except KeyboardInterrupt:
        pass
    finally:
        scanner.stop()
    click.echo(f"{scans} scan(s).")


@devices.command("test-print")
@_config_option
@click.option(
    "--lang",
    "language",
    type=click.Choice(["ru", "uk", "kk", "en"]),
    default=None,
    help="receipt language (default: [till] receipt_language).",
)
def test_print(config_file: str | None, language: str | None) -> None:
    """Print a sample receipt: every letter of the alphabet, a QR code and a bonus block."""
    from drivers.errors import DeviceError
    from drivers.receipt_texts import ALPHABETS
    from drivers.render import printable_characters, render_receipt_detailed
    from drivers.sample_receipt import sample_receipt

    settings = _settings(config_file)
    printer_settings = settings.printer
    if printer_settings.kind == "none":
        click.echo(
            "Not printed: no printer is configured ([printer] kind = none); "
            "set kind, e.g. TILL_PRINTER__KIND=file, to test one.",
            err=True,
        )
        sys.exit(EXIT_DEVICE)
    lang: ReceiptLanguage = language or settings.till.receipt_language  # type: ignore[assignment]
    qr_content = printer_settings.account_url.replace("{member_id}", "TEST") or "TEST-CLAIM-0001"
    receipt = sample_receipt(lang, datetime.now(UTC).astimezone(), qr_content)
    try:
        rendered = render_receipt_detailed(
            receipt,
            printer_settings.profile,
            printer_settings.columns,
            printer_settings.codepage,
            qr=printer_settings.qr,
        )
        printer = printer_for(settings)
        try:
            printer.open()
            status = printer.status()
            if not status.can_print:
                click.echo(f"Not printed: {status.detail}", err=True)
                sys.exit(EXIT_DEVICE)
            printer.send(rendered.data)
        finally:
            printer.close()
    except DeviceError as exc:
        # The sentence for the admin, then the driver's detail (port, address) to act on.
        click.echo(f"Not printed: {sentence(exc)} ({exc})", err=True)
        sys.exit(EXIT_DEVICE)
    letters = ALPHABETS[lang] + ALPHABETS[lang].lower()
    printable = printable_characters(printer_settings.profile)
    as_images = sorted({ch for ch in letters if ord(ch) > 127 and ch not in printable})
    qr = {True: "native QR", False: "QR as image", None: "no QR"}[rendered.native_qr]
    click.echo(
        f"Printed a {lang} test receipt to {printer.description}: {len(rendered.data)} bytes, "
        f"code page {rendered.codepage}, {qr}."
    )
    if as_images:
        click.echo(
            f"Profile {printer_settings.profile} has no code page for {''.join(as_images)}: "
            f"{len(rendered.image_lines)} line(s) went as images."
        )
    click.echo(f"Status: {status.detail}")
