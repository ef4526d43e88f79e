"""Fixtures every test module may take, instead of building them by hand.

Processing tests: ``clock`` (a manual server clock), ``server`` (the reference server on
loopback, port 0, on that clock) and ``client`` (a processing client to it).
UI tests: ``demo_server`` (the reference server, seeded with the demo program and members, on
the real clock), ``settings`` (a test till's settings against it) and ``app`` (the app exactly
as ``till run`` builds it, logged in as cashier 1). Helpers that are not fixtures live in
``tests/support/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from processing.client import ClientSettings, ProcessingClient
from processing.server.ops import audit
from processing.server.testing import ManualClock, RunningServer, running_server
from terminal.app import TillApp
from terminal.config import Settings
from tests.support.ui import app_for, till_settings
from tests.support.ui import server as seeded_server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[RunningServer]:
    # synchronous=NORMAL: the tests do not simulate power loss, and fsync per commit on a
    # shared CI disk only makes them slower.
    with running_server(tmp_path / "processing.db", clock=clock, synchronous="NORMAL") as live:
        yield live
        # Whatever a test did through the server, the books must still balance.
        with live.ctx.storage.read() as db:
            breaks = audit.run(db).breaks
        assert breaks == [], "\n".join(breaks)


@pytest.fixture
def client(server: RunningServer) -> Iterator[ProcessingClient]:
    with ProcessingClient(server.url, server.api_key, ClientSettings(attempts=1)) as c:
        yield c


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[RunningServer]:
    with seeded_server(tmp_path) as live:
        yield live


@pytest.fixture
def settings(tmp_path: Path, demo_server: RunningServer) -> Settings:
    return till_settings(tmp_path, demo_server.url, demo_server.api_key)


@pytest.fixture
def app(settings: Settings) -> TillApp:
    return app_for(settings)
