"""The composition root: build the till's adapters from Settings, once, and inject them.

``till run``, ``till demo`` and the tests all come through :func:`build_services`; nothing
else constructs a client or opens the till database for the UI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from offline_cache.db import open_database
from processing.client import ClientSettings, ProcessingClient
from terminal.config import Settings
from terminal.service_base import Clock, utc_now
from terminal.services import TillServices

PROBE_INTERVAL_S = 5.0
"""While the server is considered offline, how often one health call checks it is back."""
SYNC_IDLE_S = 15.0
"""How often the background sync looks at the outbox when nothing wakes it."""


def client_for(settings: Settings) -> ProcessingClient:
    """The processing client with the config's timeouts; the offline budget caps retries."""
    processing = settings.processing
    return ProcessingClient(
        processing.url,
        processing.resolved_api_key() or "",
        ClientSettings(
            connect_timeout=float(processing.connect_timeout),
            read_timeout=float(processing.read_timeout),
            retry_budget=float(processing.offline_budget),
        ),
    )


def build_services(settings: Settings, *, clock: Clock = utc_now) -> TillServices:
    """The services facade over a real client and the till database from ``[offline] db_path``.

    Raises the offline cache's ``CorruptDatabase``/``NewerSchema`` when the database cannot be
    used (the CLI turns those into one line).
    """
    db = open_database(Path(settings.offline.db_path), integrity_check=False)
    return TillServices(settings, client_for(settings), db, clock=clock)


def start_sync(services: TillServices) -> Callable[[], None]:
    """Start the background outbox drain on the services' client; returns its stop function."""
    from offline_cache.link import ProcessingTransport
    from offline_cache.sync import SyncEngine, SyncWorker

    engine = SyncEngine(services.settings.offline.db_path, ProcessingTransport(services.client))
    worker = SyncWorker(engine, idle_seconds=SYNC_IDLE_S)
    services.sync_engine = engine
    services.kick_sync = worker.kick
    worker.start()
    services.client.start_probing(interval=PROBE_INTERVAL_S)

    def stop() -> None:
        worker.stop()
        services.client.stop_probing()

    return stop
