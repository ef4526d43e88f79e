"""What ``till run`` and ``till demo`` do once the command line has parsed its options.

Both build the same app through :func:`terminal.app.make_app`; the demo first starts its
server and devices. Every failure before the UI opens is one line on stderr and exit 2.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.config import Settings

if TYPE_CHECKING:
    from terminal.app import TillApp
    from terminal.service_base import Clock


def _log_to_file(path: Path) -> None:
    """The UI owns the terminal, so logs go to a file beside the till database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=str(path),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def _fail(line: str) -> int:
    print(line, file=sys.stderr)
    return 2


def build_till_app(
    settings: Settings,
    config_path: Path | None,
    *,
    show_receipts: bool = False,
    start_cashier: str | None = None,
    clock: Clock | None = None,
) -> TillApp:
    """The app with its services, scanner thread and print worker: ``till run``'s and tests'.

    Raises the offline cache's ``CacheError`` when the till database cannot be used.
    """
    from terminal.app import AppOptions, make_app
    from terminal.composition import build_services, start_sync
    from terminal.printing import start_printing
    from terminal.scanner_glue import start_scanner

    services = build_services(settings) if clock is None else build_services(settings, clock=clock)
    options = AppOptions(
        config_path=config_path, show_receipts=show_receipts, start_cashier=start_cashier
    )
    app = make_app(settings, services, options)
    options.on_exit.append(start_scanner(settings, app))
    options.wake_printer, stop_printer = start_printing(settings, app)
    options.on_exit.append(stop_printer)
    options.on_exit.append(start_sync(services))
    options.on_exit.append(services.close)
    return app


def run_till(settings: Settings, config_path: Path | None, *, show_receipts: bool = False) -> int:
    """Open the till UI on ``settings``; returns the exit status."""
    from offline_cache.errors import CacheError

    _log_to_file(Path(settings.offline.db_path).resolve().parent / "till.log")
    try:
        app = build_till_app(settings, config_path, show_receipts=show_receipts)
    except CacheError as error:
        return _fail(f"till: {error}")
    app.run()
    return 0


def run_demo(base: Settings, directory: Path | None = None) -> int:
    """Start the demo server and devices, open the UI, and stop everything after it."""
    from terminal import demo
    from terminal.cashiers import Cashiers, cashiers_path
    from terminal.pty_scanner import PtyScanner

    folder, remove = demo.make_directory(directory)
    try:
        env = demo.start_server(folder, base.till.store_id, base.till.till_id)
    except (demo.DemoError, OSError) as error:
        remove()
        return _fail(f"till demo: {error}")
    env.cleanup.append(remove)
    scanner = PtyScanner()
    env.cleanup.append(scanner.close)
    try:
        settings = demo.demo_settings(base, env, base.till.language, scanner.port)
        Cashiers(cashiers_path(settings.offline.db_path)).add(*demo.DEMO_CASHIER)
        token = demo.member_token(env, demo.DEMO_PHONES[0][0])
        print(demo.introduction(settings, env, scanner.feed_path, token), flush=True)
        if os.environ.get("TILL_DEMO_NO_UI"):
            return 0
        if sys.stdin.isatty():
            input("Press Enter to open the till… ")
        return run_till(settings, None, show_receipts=True)
    finally:
        env.stop()
