"""Fixtures for the processing tests: the real server on loopback (port 0) and a client.

Load with ``pytest_plugins = ["tests.conftest_processing"]`` in a test module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from processing.client import ClientSettings, ProcessingClient
from processing.server.ops import audit
from processing.server.testing import ManualClock, RunningServer, running_server


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
