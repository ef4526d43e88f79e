"""Shared set-up for the UI tests: a real server on loopback, a real till database.

Nothing is faked except hardware: the printer is a file printer profile rendered to bytes into
the till's print-job table, and scans are posted as the scanner thread would post them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from processing.server.testing import RunningServer, running_server
from terminal.app import TillApp
from terminal.config import Settings
from terminal.launch import build_till_app
from terminal.messages import ScanReceived
from terminal.screens.sale import SaleScreen

ANNA = "+79161234567"
"""A demo member with 1 500 points."""


def till_settings(tmp_path: Path, url: str, api_key: str, **overrides: Any) -> Settings:
    """Settings for a test till: file printer, English screen unless told otherwise."""
    till = {"store_id": "S1", "till_id": "T1", "language": "en", "receipt_language": "en"}
    till.update(overrides.pop("till", {}))
    return Settings(
        till=till,
        processing={
            "url": url,
            "api_key": api_key,
            "offline_budget": "3",
            **overrides.pop("processing", {}),
        },
        printer={"kind": "file", "path": str(tmp_path / "receipts.bin"), "columns": 42},
        offline={"db_path": str(tmp_path / "till.sqlite3"), **overrides.pop("offline", {})},
        **overrides,
    )


@contextmanager
def server(tmp_path: Path, **options: Any) -> Iterator[RunningServer]:
    """The reference server, seeded with the demo program and members."""
    with running_server(tmp_path / "processing.sqlite3", **options) as running:
        yield running


def app_for(settings: Settings, *, cashier: str | None = "1", **options: Any) -> TillApp:
    """The app exactly as ``till run`` builds it, logged in as ``cashier`` unless None."""
    return build_till_app(settings, None, start_cashier=cashier, **options)


def fixed_clock() -> datetime:
    """A fixed moment for snapshots."""
    return datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@contextmanager
def till_db(settings: Settings) -> Iterator[Any]:
    """A separate connection to the till database, for assertions."""
    from offline_cache.db import open_database

    db = open_database(settings.offline.db_path)
    try:
        yield db
    finally:
        db.close()


async def settle(pilot: Any) -> None:
    """Wait until every worker is done and the messages they posted are handled."""
    from textual.worker import WorkerFailed

    app = pilot.app
    for _ in range(20):
        # A failed worker is shown by the app's own handler; tests assert on that.
        with contextlib.suppress(WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        if not [w for w in app.workers if w.is_running]:
            break
    await pilot.pause()


Scenario = Callable[[TillApp, Any], Awaitable[None]]


def drive(app: TillApp, scenario: Scenario, size: tuple[int, int] = (120, 40)) -> None:
    """Run ``scenario(app, pilot)`` headless."""

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(app, pilot)

    asyncio.run(run())


async def press(pilot: Any, *keys: str) -> None:
    """Press keys, letting every worker finish after each."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def scan_anna(app: TillApp, pilot: Any) -> SaleScreen:
    """Scan Anna's phone on the sale screen (as the serial scanner would); returns the screen."""
    screen = app.screen
    assert isinstance(screen, SaleScreen)
    app.post_message(ScanReceived(ANNA, "serial"))
    await settle(pilot)
    return screen


async def sell(app: TillApp, pilot: Any, amount: str, *extra: str) -> SaleScreen:
    """Scan Anna, type ``amount``, Enter, press ``extra`` keys; returns the sale screen."""
    screen = await scan_anna(app, pilot)
    await press(pilot, *amount, "enter", *extra)
    return screen


def message(app: TillApp) -> str:
    """The active screen's message line."""
    return str(app.screen.query_one("#message").render())


class Cable:
    """A loopback TCP relay between the till and the server that a test can unplug.

    The network is the one thing a test must be able to take away; everything on both ends
    stays real. ``unplug()`` refuses new connections and cuts open ones; ``plug()`` restores.
    """

    def __init__(self, target_url: str) -> None:
        import socket
        import threading

        host_port = target_url.rsplit("/", 1)[-1]
        self._target = (host_port.split(":")[0], int(host_port.split(":")[1]))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.plugged = threading.Event()
        self.plugged.set()
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.plugged.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=2)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: Any, sink: Any) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.close()

    def unplug(self) -> None:
        """Cut the network: open connections are closed, new ones refused."""
        self.plugged.clear()
        with self._lock:
            for sock in self._open:
                with suppress(OSError):
                    sock.close()
            self._open.clear()

    def plug(self) -> None:
        """Restore the network."""
        self.plugged.set()

    def close(self) -> None:
        """Stop relaying (bounded)."""
        self._stop.set()
        self.unplug()
        self._listener.close()
        self._thread.join(timeout=2)


async def wait_printed(pilot: Any, path: Path) -> bytes:
    """Until the print worker has written the receipt file (bounded)."""
    for _ in range(100):
        if path.exists() and path.stat().st_size > 0:
            return path.read_bytes()
        await pilot.pause(0.05)
    raise AssertionError("the receipt was never printed")


def server_check(srv: RunningServer, check_id: str) -> tuple[str, int, int]:
    """The server's status of the check and its earn/spend movements (hundredths)."""
    with srv.ctx.storage.read() as db:
        status = db.execute("SELECT status FROM checks WHERE id = ?", [check_id]).fetchone()
        moves = db.execute(
            "SELECT kind, sum(points) FROM movements WHERE check_id = ? GROUP BY kind", [check_id]
        ).fetchall()
    by_kind = {kind: int(total) for kind, total in moves}
    earned = sum(v for k, v in by_kind.items() if "earn" in k)
    spent = -sum(v for k, v in by_kind.items() if "spend" in k)
    return status[0], earned, spent


@contextmanager
def behind_cable(
    tmp_path: Path, **overrides: Any
) -> Iterator[tuple[RunningServer, Cable, Settings]]:
    """The seeded server, a cable to it the test can unplug, and a till's settings through it
    (``overrides`` as for :func:`till_settings`); the cable is closed afterwards."""
    with server(tmp_path) as srv:
        cable = Cable(srv.url)
        try:
            yield srv, cable, till_settings(tmp_path, cable.url, srv.api_key, **overrides)
        finally:
            cable.close()
