"""The till: a Textual cashier terminal over the loyalty core, the till's store and devices.

Deferred imports
----------------
An import inside a function is deliberate, and each one is listed in
:data:`DEFERRED_IMPORTS` with its reason (``tests/test_deferred_imports.py`` fails when one is
added or removed without the list). Most keep start-up fast: ``till --help`` and the first
frame of the login screen load neither the drivers, nor babel, nor the screens behind login.
Screens that lead to one another (login → sale → shift → login) import each other when they
switch, so no screen module imports another at load time.
"""

from __future__ import annotations

DEFERRED_IMPORTS: dict[str, tuple[tuple[str, ...], str]] = {
    "terminal.cli": (
        ("os", "terminal.demo", "terminal.launch"),
        "`till --help` and the headless commands never load Textual or the app",
    ),
    "terminal.launch": (
        (
            "terminal",
            "terminal.app",
            "terminal.bridge.runner",
            "terminal.cashiers",
            "terminal.composition",
            "terminal.messages",
            "terminal.printing",
            "terminal.pty_scanner",
            "terminal.scanner_glue",
        ),
        "the app paints its first frame before the services, devices and bridge are loaded;"
        " they are imported in the worker that builds them",
    ),
    "terminal.app": (
        ("terminal.screens.sale",),
        "the sale screen is not needed for the first frame (login)",
    ),
    "terminal.screens.login": (
        ("terminal.screens.admin", "terminal.screens.sale"),
        "screens reached from login load when the cashier goes there",
    ),
    "terminal.screens.shift": (
        ("terminal.screens.login",),
        "the login screen is imported when the shift closes and it is shown again",
    ),
    "terminal.screens.sale": (
        ("loyalty.identifiers", "terminal.screens.navigation", "terminal.screens.registration"),
        "phone-number parsing loads on the first scan, in its worker; the screens the sale"
        " leads to (F-keys, the pending-code dialog) load when first opened",
    ),
    "terminal.screens.sync": (
        ("terminal.screens.manager", "terminal.screens.registration"),
        "dialogs opened from the sync screen load when opened",
    ),
    "terminal.screens.admin": (
        (
            "datetime",
            "drivers.sample_receipt",
            "processing.client",
            "serial.tools",
            "terminal.device_settings",
            "terminal.receipts",
        ),
        "the connection test, the test receipt and the port list load their adapters on use",
    ),
    "terminal.i18n": (
        ("babel", "babel.dates", "babel.numbers"),
        "babel's locale data loads on the first formatted number or date, not at import",
    ),
    "terminal.receipts": (
        ("drivers.receipt_layout", "drivers.render"),
        "the receipt renderer (images, QR codes) loads when a receipt is first rendered",
    ),
    "terminal.services.office": (
        (
            "drivers.receipt_layout",
            "drivers.render",
            "drivers.text_normalise",
            "offline_cache.refresh",
        ),
        "printing a shift report and refreshing the caches load their modules on use",
    ),
    "terminal.bridge.finishing": (
        ("drivers.receipt_layout",),
        "the bonus-line layout loads when the bridge finishes its first receipt",
    ),
    "terminal.bridge.runner": (
        ("terminal.bridge.app", "terminal.bridge.register", "uvicorn"),
        "uvicorn and the bridge's HTTP app load only when [bridge] is enabled",
    ),
    "terminal.demo": (
        ("processing.client", "processing.errors"),
        "the client loads only to describe the demo members once the demo server runs",
    ),
    "terminal.device_settings": (
        ("drivers.factory",),
        "device drivers load only for the devices the config names",
    ),
    "terminal.devices_cli": (
        (
            "drivers.device_list",
            "drivers.errors",
            "drivers.factory",
            "drivers.receipt_texts",
            "drivers.render",
            "drivers.sample_receipt",
            "drivers.scan_events",
            "terminal.keyboard_test_scan",
        ),
        "each `till devices` subcommand loads only the drivers it uses",
    ),
    "terminal.printing": (
        ("drivers.print_worker", "offline_cache.db", "offline_cache.print_jobs"),
        "the print worker loads only when a printer is configured",
    ),
    "terminal.scanner_glue": (
        ("drivers.scan_events", "drivers.serial_scanner"),
        "the scanner driver loads only when a scanner is configured",
    ),
}
"""Module → (what it imports inside functions, why)."""
