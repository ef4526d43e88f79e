"""Fixtures every test module may take, instead of building them by hand.

Processing tests: ``clock`` (a manual server clock), ``server`` (the reference server on
loopback, port 0, on that clock) and ``client`` (a processing client to it). Every test using
``server`` runs twice: on an SQLite file and on PostgreSQL (``postgres``: a cluster the
session starts from the Debian package; a fresh database per test copied from a migrated
template).
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
from processing.server.testing_pg import Cluster
from terminal.app import TillApp
from terminal.config import Settings
from tests.support.ui import app_for, till_settings
from tests.support.ui import server as seeded_server

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[tuple[Cluster, str]]:
    """The session's PostgreSQL cluster and the name of its migrated template database."""
    from processing.server.pg import PgStorage

    cluster = Cluster()
    cluster.start()
    try:
        template = cluster.create()
        PgStorage(template, pool_size=1).close()  # migrated once; every test gets a copy
        cluster.drop_connections(template)
        yield cluster, template.rsplit("/", 1)[1]
    finally:
        cluster.stop()


@pytest.fixture
def pg_dsn(postgres: tuple[Cluster, str]) -> Iterator[str]:
    """A fresh migrated PostgreSQL database (a copy of the template), dropped at the end."""
    cluster, template = postgres
    dsn = cluster.create(template)
    try:
        yield dsn
    finally:
        cluster.drop(dsn)


@pytest.fixture(params=ENGINES)
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """Where the server keeps its data: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield tmp_path / "processing.db"
        return
    cluster, template = request.getfixturevalue("postgres")
    dsn = cluster.create(template)
    try:
        yield dsn
    finally:
        cluster.drop(dsn)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(db_target: str | Path, clock: ManualClock) -> Iterator[RunningServer]:
    # synchronous=NORMAL: the tests do not simulate power loss, and fsync per commit on a
    # shared CI disk only makes them slower.
    with running_server(db_target, clock=clock, synchronous="NORMAL") as live:
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
