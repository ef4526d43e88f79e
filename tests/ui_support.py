"""Shared set-up for the UI tests: a real server on loopback, a real till database, the app.

Nothing is faked except hardware: the printer is a file printer profile rendered to bytes into
the till's print-job table, and scans are posted as the scanner thread would post them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from processing.server.testing import RunningServer, running_server
from terminal.app import TillApp
from terminal.config import Settings
from terminal.launch import build_till_app

ANNA = "+79161234567"
"""A demo member with 1 500 points."""


def till_settings(tmp_path: Path, url: str, api_key: str, **overrides: Any) -> Settings:
    """Settings for a test till: file printer, English screen unless told otherwise."""
    till = {"store_id": "S1", "till_id": "T1", "language": "en", "receipt_language": "en"}
    till.update(overrides.pop("till", {}))
    return Settings(
        till=till,
        processing={"url": url, "api_key": api_key, "offline_budget": "3"},
        printer={"kind": "file", "path": str(tmp_path / "receipts.bin"), "columns": 42},
        offline={"db_path": str(tmp_path / "till.sqlite3"), **overrides.pop("offline", {})},
        **overrides,
    )


@contextmanager
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """The reference server, seeded with the demo program and members."""
    with running_server(tmp_path / "processing.sqlite3") as running:
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
    app = pilot.app
    for _ in range(20):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not [w for w in app.workers if w.is_running]:
            break
    await pilot.pause()
