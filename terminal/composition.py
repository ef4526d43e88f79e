"""The composition root: build the till's adapters from Settings, once, and inject them.

``till run``, ``till demo`` and the tests all come through :func:`build_services`; nothing
else constructs a client or opens the till database for the UI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from offline_cache.db import open_database
from offline_cache.link import ProcessingTransport
from offline_cache.sync import SyncEngine, SyncWorker
from processing.client import ClientSettings, ProcessingClient
from terminal.config import Settings
from terminal.connection import Connection
from terminal.services import (
    ClaimService,
    MemberService,
    OfficeService,
    ReceiptPrinter,
    SaleService,
    Session,
    SyncLink,
    TillServices,
    TillStore,
)
from terminal.services.context import Clock, utc_now

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
    """The till's services over a real client and the till database from ``[offline] db_path``.

    Each service gets the parts it needs and nothing else: one session (cashier, shift,
    connection state), one store, one printer queue, one sync link, shared by all of them.
    Raises the offline cache's ``CorruptDatabase``/``NewerSchema`` when the database cannot be
    used (the CLI turns those into one line).
    """
    db = open_database(Path(settings.offline.db_path), integrity_check=False)
    client = client_for(settings)
    session = Session(Connection(client))
    store = TillStore(db, clock)
    printer = ReceiptPrinter(settings, store, clock)
    # The one "deliver now" path: every service sends its committed records through the
    # engine (the same classification as the background drain), on the store's connection.
    sync = SyncLink(SyncEngine(settings.offline.db_path, ProcessingTransport(client)), store)
    claims = ClaimService(settings, client, store, session, printer, sync, clock=clock)
    return TillServices(
        settings=settings,
        client=client,
        clock=clock,
        session=session,
        store=store,
        printer=printer,
        sync=sync,
        sales=SaleService(settings, client, store, session, printer, claims, sync, clock=clock),
        claims=claims,
        members=MemberService(settings, client, store, session, sync, clock=clock),
        office=OfficeService(settings, client, store, session, printer, sync, clock=clock),
    )


def start_sync(services: TillServices) -> Callable[[], None]:
    """Start the background outbox drain on the services' client; returns its stop function."""
    worker = SyncWorker(services.sync.engine, idle_seconds=SYNC_IDLE_S)
    services.sync.kick = worker.kick
    services.sync.running = True
    worker.start()
    services.client.start_probing(interval=PROBE_INTERVAL_S)

    def stop() -> None:
        services.sync.running = False
        services.sync.kick = lambda: None
        worker.stop()
        services.client.stop_probing()

    return stop
