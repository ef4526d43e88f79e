"""Devices: scanners and receipt printers. Nothing here imports Textual or the terminal.

Scanners
    ``serial_scanner.SerialScanner`` (reader thread, reconnect), ``scan_framing.ScanFramer``
    (pure framing), ``keyboard_wedge.KeyboardWedge`` (burst vs. typing, ЙЦУКЕН → Latin);
    events in ``scan_events``: ``Scanned``, ``UnreadableScan``, ``ScannerState``.
Printers
    ``render.render_receipt`` (pure: ``loyalty.receipt.Receipt`` → ESC/POS bytes),
    ``receipt_layout.layout_receipt`` (the lines, for on-screen previews),
    ``printers`` (file, network, serial, usb, none behind the ``Printer`` protocol),
    ``print_worker.PrintWorker`` (durable jobs from the till's SQLite),
    ``escpos_decode.decode_escpos`` (bytes back to text), ``factory`` (build from settings),
    ``device_list`` (what is plugged in).
Errors
    ``errors.DeviceError`` and its subclasses, one sentence each.

python-escpos, Pillow and qrcode are imported lazily (see ``escpos_env``): importing this
package costs no more than its own modules.
"""
