"""A till with its register bridge running, over the reference server behind an unpluggable
cable: what the bridge's tests (and its fuzz run) drive."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from offline_cache.link import ProcessingTransport
from offline_cache.sync import SyncEngine
from processing.client import ClientSettings, ProcessingClient
from processing.server.testing import RunningServer
from terminal.bridge.runner import RunningBridge, start_bridge
from terminal.bridge.simulator import Register
from terminal.composition import build_services
from terminal.services import TillServices
from tests.support.ui import ANNA, Cable, server, till_db, till_settings


@dataclass
class Till:
    services: TillServices
    bridge: RunningBridge
    cable: Cable
    server: RunningServer

    def register(self, register_id: str = "POS-1", key: str | None = None) -> Register:
        return Register(self.bridge.url, register_id, key)

    def available(self) -> Decimal:
        """Anna's spendable balance as the server's ledger has it now."""
        with ProcessingClient(
            self.server.url, self.server.api_key, ClientSettings(attempts=1)
        ) as client:
            return client.identify(ANNA, region="RU").balance.available

    def server_checks(self, check_id: str) -> list[tuple[str, int, int]]:
        with self.server.ctx.storage.read() as db:
            rows = db.execute(
                "SELECT status, earn, spend FROM checks WHERE id = ?", [check_id]
            ).fetchall()
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def server_returns(self, check_id: str) -> list[tuple[int, int]]:
        with self.server.ctx.storage.read() as db:
            rows = db.execute(
                "SELECT taken_back, given_back FROM returns WHERE check_id = ?", [check_id]
            ).fetchall()
        return [(int(r[0]), int(r[1])) for r in rows]

    def check_id(self, receipt_id: str) -> str:
        """The till's check id of a register receipt (as its audit line records it)."""
        with till_db(self.services.settings) as db:
            row = db.execute(
                "SELECT record_id FROM audit_log WHERE action = 'bridge_finished'"
                " AND json_extract(detail, '$.receipt_id') = ? ORDER BY seq DESC",
                [receipt_id],
            ).fetchone()
        assert row is not None, f"no finished receipt {receipt_id}"
        return str(row[0])

    def drain(self) -> Any:
        engine = SyncEngine(
            self.services.settings.offline.db_path, ProcessingTransport(self.services.client)
        )
        return engine.drain()


@contextmanager
def running_till(
    tmp_path: Path, *, till: dict[str, Any] | None = None, **bridge: Any
) -> Iterator[Till]:
    with server(tmp_path) as srv:
        cable = Cable(srv.url)
        settings = till_settings(
            tmp_path,
            cable.url,
            srv.api_key,
            till=till or {},
            bridge={"enabled": True, "port": 0, **bridge},
        )
        services = build_services(settings)
        try:
            services.office.start_shift("1")
            services.office.refresh_caches()
            running = start_bridge(services)
            try:
                yield Till(services, running, cable, srv)
            finally:
                running.stop()
        finally:
            services.close()
            cable.close()
