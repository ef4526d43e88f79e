"""Claims while the server is unreachable: queued durably, delivered by the sync exactly once.

Real server on loopback behind a relay the test unplugs, real till database, the services
facade as the sale screen's workers call it, the real sync engine and transport.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from loyalty.claims import claim_code
from offline_cache.checks import CheckRecord, commit_check
from offline_cache.link import ProcessingTransport
from offline_cache.outbox import Outbox
from offline_cache.sync import SyncEngine
from processing import wire
from processing.client import ProcessingClient
from processing.server.testing import RunningServer
from terminal.composition import build_services
from terminal.services import TillServices
from terminal.views import QUICK_AMOUNT, SaleDraft, SaleLine
from tests.support.ui import Cable, server, till_db, till_settings

MADE_AT = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
"""The till's clock: an hour ago, so the server (which never dates a check ahead) keeps it."""


def draft(*amounts: str) -> SaleDraft:
    """A check of quick amounts with nobody identified."""
    lines = tuple(SaleLine(QUICK_AMOUNT, Decimal(a), Decimal(1), Decimal(a)) for a in amounts)
    return SaleDraft(str(uuid.uuid4()), None, lines)


@contextmanager
def till(tmp_path: Path, srv: RunningServer) -> Iterator[tuple[TillServices, Cable]]:
    """The till's services behind an unpluggable cable, caches refreshed while plugged."""
    cable = Cable(srv.url)
    settings = till_settings(tmp_path, cable.url, srv.api_key)
    services = build_services(settings, clock=lambda: MADE_AT)
    try:
        services.office.start_shift("1")
        services.office.refresh_caches()
        yield services, cable
    finally:
        services.close()
        cable.close()


def engine(services: TillServices) -> SyncEngine:
    return SyncEngine(services.settings.offline.db_path, ProcessingTransport(services.client))


def claims_on_server(srv: RunningServer) -> list[tuple[str, str, int, int]]:
    with srv.ctx.storage.read() as db:
        rows = db.execute("SELECT code, check_id, earn_at_least, made_at FROM claims").fetchall()
    return [(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]


def test_offline_claim_is_queued_then_delivered_exactly_once(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as (services, cable):
        cable.unplug()
        sale = draft("1200")
        result = services.sales.commit_sale(sale, None)
        claim = result.claim
        assert claim is not None and claim.code == claim_code(sale.check_id)
        # The same figure the server will answer, from the cached program (base tier, 3 %).
        assert claim.provisional and claim.earn_at_least == Decimal(36)
        assert claim.expires_at == MADE_AT + timedelta(days=30)
        assert result.offline and not result.confirmed
        assert "At least (provisional)" in result.receipt_text
        with till_db(services.settings) as db:
            queued = db.execute("SELECT id, kind, state, member_id FROM outbox").fetchall()
            payload = Outbox(db).get(sale.check_id).payload
        assert queued == [(sale.check_id, "claim", "pending", None)]
        request = wire.ClaimRequest.model_validate(payload)
        assert request.code == claim.code and request.made_at == MADE_AT
        assert request.lines[0].amount == Decimal("1200") and isinstance(payload["lines"], list)
        assert claims_on_server(srv) == []

        cable.plug()
        report = engine(services).drain()
        assert report.ok and report.acknowledged == 1
        stored = claims_on_server(srv)
        assert stored == [(claim.code, sale.check_id, 3600, int(MADE_AT.timestamp()))]
        with till_db(services.settings) as db:
            record = Outbox(db).get(sale.check_id)
        assert record.state == "acknowledged" and record.response is not None
        assert Decimal(record.response["earn_at_least"]) == Decimal(36)

        # An answer lost on the way back is sent again with the same key: nothing doubles.
        again = list(ProcessingTransport(services.client).deliver([record]))
        assert [d.acknowledged for d in again] == [True]
        assert again[0].response == record.response
        with ProcessingClient(srv.url, srv.api_key) as client:
            replayed = client.create_claim(request, idempotency_key=sale.check_id)
        assert replayed.code == claim.code and replayed.earn_at_least == Decimal(36)
        assert claims_on_server(srv) == stored
        assert engine(services).drain().acknowledged == 0

        # The reprint now prints the server's figure, no longer provisional.
        reprint = services.office.reprint(sale.check_id)
        assert "At least (provisional)" not in reprint and "At least" in reprint


def test_a_return_waits_behind_its_queued_claim(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as (services, cable):
        cable.unplug()
        sale = draft("600", "400")
        services.sales.commit_sale(sale, None)
        # Even with the server back, the return must not overtake the claim it returns against.
        cable.plug()
        assert services.client.probe() and services.session.online
        returned = services.members.return_lines(sale.check_id, {1: Decimal(1)})
        assert returned.queued
        report = engine(services).drain()
        assert report.ok and report.acknowledged == 2
        with srv.ctx.storage.read() as db:
            row = db.execute(
                "SELECT status, returned FROM claims WHERE check_id = ?", [sale.check_id]
            ).fetchone()
        assert row[0] == "open" and '"1"' in row[1]
        with till_db(services.settings) as db:
            answer = Outbox(db).get(returned.return_id).response
        assert answer is not None and answer["member_id"] == ""


def test_a_refused_claim_is_kept_dead_with_its_reason(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as (services, cable):
        cable.unplug()
        bad_id = str(uuid.uuid4())
        # A code that was not made from this check id: the server refuses it for good.
        bad = wire.ClaimRequest(
            check_id=bad_id,
            code=claim_code("some other check"),
            lines=[wire.Line(price=Decimal(100), quantity=Decimal(1), amount=Decimal(100))],
            made_at=MADE_AT,
        )
        with till_db(services.settings) as db:
            commit_check(
                db,
                CheckRecord(
                    bad_id,
                    None,
                    Decimal(100),
                    Decimal(0),
                    Decimal(0),
                    False,
                    bad.model_dump(mode="json"),
                    claim=True,
                ),
            )
        good = draft("300")
        services.sales.commit_sale(good, None)
        cable.plug()
        report = engine(services).drain()
        assert report.acknowledged == 1 and [r for r, _ in report.dead] == [bad_id]
        with till_db(services.settings) as db:
            states = dict(db.execute("SELECT id, state FROM outbox").fetchall())
            dead = Outbox(db).get(bad_id)
        assert states == {bad_id: "dead", good.check_id: "acknowledged"}
        assert dead.dead_reason is not None and dead.dead_reason.startswith("invalid_request")
        assert [c[1] for c in claims_on_server(srv)] == [good.check_id]
