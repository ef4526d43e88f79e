"""What ``till run`` and ``till demo`` do once the command line has parsed its options.

Both build the same app through :func:`terminal.app.make_app`; the demo first starts its
server and devices. Every failure before the UI opens is one line on stderr and exit 2.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.config import Settings

if TYPE_CHECKING:
    from terminal.app import TillApp
    from terminal.services import TillServices
    from terminal.services.context import Clock


FIRST_FRAME_PROBE = "TILL_FIRST_FRAME_PROBE"
"""When set, ``till run`` runs headless and exits at its first interactive frame."""


DEMO_DIR_ENV = "TILL_DEMO_DIR"
"""When set, ``till demo`` keeps its server and till data in this directory (and keeps it)."""


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def log_file_handler(path: Path) -> logging.FileHandler:
    """A handler appending to ``path``, created 0600 (member ids and errors are in it).

    A log an older till left readable to others is made private too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    os.chmod(path, 0o600)
    return logging.FileHandler(path, encoding="utf-8")


def _log_to_file(path: Path) -> None:
    """The UI owns the terminal, so logs go to a file beside the till database."""
    logging.basicConfig(
        handlers=[log_file_handler(path)],
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
    """The app for ``till run``, the demo and the tests; its adapters are built after mount.

    The factory (run in a worker) builds the services, then starts the scanner thread, the
    print worker and the background sync; the app stops them in reverse order on exit. A
    database that cannot be used is reported on screen as one sentence.
    """
    from terminal.app import AppOptions, make_app

    options = AppOptions(
        config_path=config_path, show_receipts=show_receipts, start_cashier=start_cashier
    )
    if clock is not None:
        options.clock = clock

    def services() -> TillServices:
        from terminal.composition import build_services, start_sync
        from terminal.printing import start_printing
        from terminal.scanner_glue import start_scanner

        current = app.settings  # what the admin last applied, or ``settings`` at start
        built = build_services(current, clock=options.clock)
        core = [built.close, start_sync(built)]
        devices: list[Callable[[], None]] = []
        try:
            wake, stop_printer = start_printing(current, app)
            devices.append(stop_printer)
            devices.append(start_scanner(current, app))
            if current.bridge.enabled:  # the cash register's bridge (BRIDGE.md)
                from terminal.bridge.runner import start_bridge
                from terminal.messages import BridgeCartChanged

                bridge = start_bridge(
                    built,
                    wake_printer=lambda: options.wake_printer(),
                    on_change=lambda cart: app.post_message(BridgeCartChanged(cart)),
                )
                core.append(bridge.stop)  # stopped first: it calls the services
        except BaseException:
            for stop in [*reversed(devices), *reversed(core)]:
                stop()
            raise
        options.wake_printer = wake
        options.stop_devices = list(reversed(devices))
        options.stop_services = list(reversed(core))
        return built

    app = make_app(settings, services, options)
    return app


def run_till(settings: Settings, config_path: Path | None, *, show_receipts: bool = False) -> int:
    """Open the till UI on ``settings``; returns the exit status."""
    _log_to_file(Path(settings.offline.db_path).resolve().parent / "till.log")
    app = build_till_app(settings, config_path, show_receipts=show_receipts)
    if os.environ.get(FIRST_FRAME_PROBE):
        # Benchmarks: run headless, say when the first frame is up and when the till is usable
        # (services built: database open, devices and sync started), then stop (see bench_ui).
        async def first_frame(pilot: object) -> None:
            print(f"first-frame {time.time()}", flush=True)
            built = await asyncio.to_thread(app._services_built.wait, 120)
            state = "ok" if built and app._services is not None else "failed"
            print(f"usable {time.time()} {state}", flush=True)
            app.exit()

        app.run(headless=True, auto_pilot=first_frame)
        return 0
    app.run()
    return 0


def run_demo(
    base: Settings, directory: Path | None = None, *, ignored: list[str] | None = None
) -> int:
    """Start the demo server and devices, open the UI, and stop everything after it.

    ``ignored``: the TILL_* variables dropped so the demo owns its settings
    (:func:`terminal.demo.drop_owned_environment`); the intro names them.
    """
    from terminal import demo
    from terminal.cashiers import Cashiers, cashiers_path
    from terminal.pty_scanner import PtyScanner

    if directory is None and os.environ.get(DEMO_DIR_ENV):
        directory = Path(os.environ[DEMO_DIR_ENV])
    ignored = ignored or []
    folder, remove = demo.make_directory(directory)
    try:
        env = demo.start_server(folder, base.till.store_id, base.till.till_id)
    except (demo.DemoError, OSError) as error:
        remove()
        return _fail(f"till demo: {error}")
    env.cleanup.append(remove)
    # A closed terminal window or a `kill` must still stop the server and remove the data.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    scanner = PtyScanner()
    env.cleanup.append(scanner.close)
    try:
        settings = demo.demo_settings(base, env, base.till.language, scanner.port)
        Cashiers(cashiers_path(settings.offline.db_path)).add(*demo.DEMO_CASHIER)
        token = demo.member_token(env, demo.DEMO_PHONES[0])
        members = demo.describe_members(settings)
        intro = demo.introduction(
            settings, env, scanner.feed_path, token, members=members, ignored=ignored
        )
        print(intro, flush=True)
        if os.environ.get("TILL_DEMO_NO_UI"):
            return 0
        if sys.stdin.isatty():
            input("Press Enter to open the till… ")
        return run_till(settings, None, show_receipts=True)
    finally:
        env.stop()
