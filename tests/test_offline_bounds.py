"""The offline bounds hold as configured: moved clocks, online sales, shortfalls, shifts.

Real till database; the sync engine is driven through its Transport protocol with answers as
the server gives them, and the online sale runs against the real server on loopback.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from offline_cache.checks import CheckRecord, commit_check
from offline_cache.conflicts import open_conflicts, resolve_conflict
from offline_cache.db import open_database
from offline_cache.errors import OfflineRefused
from offline_cache.members import MemberCache, MemberRow
from offline_cache.offline import (
    OfflinePolicy,
    advance_clock,
    offline_spend_limit,
    outstanding_budget_use,
    take_server_time,
)
from offline_cache.outbox import OutboxRecord
from offline_cache.sync import Delivery, Difference, SyncEngine
from terminal.composition import build_services
from tests.support.ui import ANNA, server, till_settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = OfflinePolicy(
    spend_enabled=True,
    per_check_cap=Decimal("400"),
    per_member_daily_cap=Decimal("100"),
    till_budget=Decimal("900"),
    per_shift_cap=Decimal("250"),
    manager_above=Decimal("1000"),
)


def _db(tmp_path: Path) -> Database:
    db = open_database(tmp_path / "till.sqlite3")
    MemberCache(db).upsert_many(
        [
            MemberRow(f"m{n}", f"+7916123456{n}", "active", Decimal("5000"), NOW)
            for n in range(1, 5)
        ],
        refreshed_at=NOW,
    )
    return db


def _spend(
    db: Database, check_id: str, member: str, points: str, at: datetime, shift: str = "s1"
) -> None:
    commit_check(
        db,
        CheckRecord(
            check_id=check_id,
            member_id=member,
            total=Decimal("2000.00"),
            earned=Decimal(0),
            spent=Decimal(points),
            offline=True,
            payload={"check_id": check_id},
            shift_id=shift,
        ),
        policy=POLICY,
        clock=lambda: at,
    )


def _limit(db: Database, member: str, at: datetime, shift: str = "s1") -> tuple[Decimal, str]:
    cached = MemberCache(db).by_id(member)
    assert cached is not None
    found = offline_spend_limit(db, cached, POLICY, at, shift)
    return found.limit, found.bound


class Answers:
    """The server's answers for a drain, as the Transport protocol yields them."""

    def __init__(self, spent: dict[str, Decimal]) -> None:
        self.spent = spent

    def deliver(self, records: Sequence[OutboxRecord]) -> Iterator[Delivery]:
        for record in records:
            applied = self.spent.get(record.id, record.spend)
            differences = ()
            if applied != record.spend:
                differences = (
                    Difference("spend", str(record.spend), str(applied)),
                    Difference(
                        "server_conflict",
                        str(record.spend),
                        str(applied),
                        {"conflict": "insufficient_points"},
                    ),
                )
            yield Delivery(
                record.id,
                True,
                {"spent": str(applied)},
                differences=differences,
                earned=Decimal(0),
                spent=applied,
                member_id=record.member_id,
                balance_after=Decimal("4000"),
            )


def _drain(tmp_path: Path, spent: dict[str, Decimal] | None = None) -> None:
    report = SyncEngine(tmp_path / "till.sqlite3", Answers(spent or {})).drain()
    assert report.remaining == 0


def test_a_clock_moved_forward_does_not_reopen_an_unsynced_day(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _spend(db, "c1", "m1", "100", NOW)
    assert _limit(db, "m1", NOW)[1] == "daily"
    tomorrow = NOW + timedelta(days=1)
    assert _limit(db, "m1", tomorrow) == (Decimal("0.00"), "daily")
    with pytest.raises(OfflineRefused):
        _spend(db, "c2", "m1", "1", tomorrow)
    # Once the server has judged them, a new day is a new day.
    _drain(tmp_path)
    assert _limit(db, "m1", tomorrow) == (Decimal("100.00"), "daily")


def test_a_clock_moved_back_cannot_reset_the_day(tmp_path: Path) -> None:
    db = _db(tmp_path)
    take_server_time(db, NOW)  # the program snapshot said what time it is
    yesterday = NOW - timedelta(days=1)
    at = advance_clock(db, yesterday)  # the till's clock was set back a day
    assert at == NOW
    _spend(db, "c1", "m1", "100", at)
    _drain(tmp_path)
    assert _limit(db, "m1", yesterday)[0] == 0
    assert _limit(db, "m1", NOW)[0] == 0, "back then forth again gave a fresh cap"


def test_the_server_time_pulls_back_a_clock_that_ran_ahead(tmp_path: Path) -> None:
    db = _db(tmp_path)
    assert advance_clock(db, NOW + timedelta(days=400)) == NOW + timedelta(days=400)
    take_server_time(db, NOW)
    assert advance_clock(db, NOW) == NOW


def test_the_budget_refills_by_what_the_server_applied(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _spend(db, "c1", "m1", "100", NOW)
    _spend(db, "c2", "m2", "100", NOW)
    assert outstanding_budget_use(db) == Decimal(200)
    _drain(tmp_path, {"c1": Decimal(30)})  # c1 ended in a shortfall of 70
    assert outstanding_budget_use(db) == Decimal(70)
    for conflict in open_conflicts(db):
        resolve_conflict(db, conflict.id, cashier="1", override_by="boss", online=True)
    assert outstanding_budget_use(db) == 0


def test_the_shift_cap_counts_every_offline_spend_of_the_shift(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _spend(db, "c1", "m1", "100", NOW)
    _spend(db, "c2", "m2", "100", NOW)
    _drain(tmp_path)  # synced spends still count for the shift
    assert _limit(db, "m3", NOW) == (Decimal("50.00"), "shift")
    with pytest.raises(OfflineRefused) as refused:
        _spend(db, "c3", "m3", "51", NOW)
    assert refused.value.bound == "shift"
    _spend(db, "c4", "m3", "60", NOW, shift="s2")  # the next shift has its own


def test_an_online_sale_updates_the_member_cache(tmp_path: Path) -> None:
    from terminal.views import QUICK_AMOUNT, SaleDraft, SaleLine

    with server(tmp_path) as srv:
        services = build_services(till_settings(tmp_path, srv.url, srv.api_key))
        try:
            services.office.start_shift("1")
            services.office.refresh_caches()
            member = services.sales.identify(ANNA, scanned=False)
            line = SaleLine(QUICK_AMOUNT, Decimal("500.00"), Decimal(1), Decimal("500.00"))
            draft = SaleDraft(str(uuid.uuid4()), member, (line,), spend=Decimal(100))
            result = services.sales.commit_sale(draft, services.sales.preview(draft))
            assert result.spent == Decimal(100) and result.confirmed
            with services.store.database() as db:
                cached = MemberCache(db).by_id(member.member_id)
            assert cached is not None
            # If the server drops now, the cache must not offer the spent points again.
            assert cached.available == result.balance_after
            assert cached.available < member.available
        finally:
            services.close()
