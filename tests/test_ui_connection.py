"""The till's one connection state: a hung server costs one wait; its return shows at once.

A real server process is stopped with SIGSTOP (it accepts connections and never answers, as a
hung server does); the network relay (:class:`Cable`) takes the server away from a running app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from processing.server.testing import running_server
from terminal.app import TillApp
from terminal.composition import build_services
from terminal.messages import ScanReceived
from terminal.widgets.status_line import StatusLine
from tests.support.ui import (
    ANNA,
    app_for,
    behind_cable,
    drive,
    settle,
    till_settings,
)

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def server_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """A seeded server in its own process (so it can be stopped): process, URL, till key."""
    db_path = tmp_path / "server.sqlite3"
    with running_server(db_path) as seeded:  # seeds the database and makes a till key
        api_key = seeded.api_key
    port_file = tmp_path / "server.port"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "processing.server", "serve", "--db", str(db_path)),
            *("--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file), "--demo"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            assert process.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        yield process, f"http://127.0.0.1:{int(port_file.read_text())}", api_key
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


def test_a_hung_server_costs_one_wait_then_the_cache_answers_until_the_probe(
    tmp_path: Path,
) -> None:
    with server_process(tmp_path) as (process, url, api_key):
        settings = till_settings(tmp_path, url, api_key, processing={"offline_budget": "0.5"})
        services = build_services(settings)
        identifies: list[str] = []

        def count(request: httpx.Request) -> None:
            if request.url.path.endswith("/identify"):
                identifies.append(request.url.path)

        services.client._http.event_hooks["request"].append(count)
        back = threading.Event()
        services.connection.subscribe(lambda online: online and back.set())
        try:
            services.office.refresh_caches()  # Anna in the member cache
            assert services.sales.identify(ANNA, scanned=True).online
            assert len(identifies) == 1

            os.kill(process.pid, signal.SIGSTOP)
            first = services.sales.identify(ANNA, scanned=True)  # the one wait: the budget runs out
            assert not first.online and first.member_id
            assert not services.connection.online
            assert len(identifies) == 2
            for _ in range(4):
                member = services.sales.identify(ANNA, scanned=True)
                assert not member.online and member.member_id == first.member_id
            # The four scans after the first went straight to the cache: no network attempt.
            assert len(identifies) == 2

            os.kill(process.pid, signal.SIGCONT)
            services.client.start_probing(interval=0.1)
            assert back.wait(30), "the prober did not find the server again"
            assert services.connection.online
            assert services.sales.identify(ANNA, scanned=True).online
            assert len(identifies) == 3
        finally:
            os.kill(process.pid, signal.SIGCONT)
            services.close()


def _status(app: TillApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


def test_the_status_line_says_online_once_the_server_is_back_without_a_scan(
    tmp_path: Path,
) -> None:
    with behind_cable(tmp_path) as (_srv, cable, settings):
        app = app_for(settings)
        seen: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            cable.unplug()
            app.post_message(ScanReceived(ANNA, "serial"))
            await settle(pilot)
            app.refresh_status()
            await settle(pilot)
            seen["offline"] = _status(app)
            cable.plug()
            # The background prober (every few seconds) must bring the line back by itself.
            for _ in range(300):
                await pilot.pause(0.1)
                if "ONLINE" in _status(app):
                    break
            seen["back"] = _status(app)

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert "OFFLINE" in seen["offline"]
        assert "ONLINE" in seen["back"] and "OFFLINE" not in seen["back"]
