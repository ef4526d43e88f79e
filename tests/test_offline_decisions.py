"""Offline identify (phone, card, QR), balance net of pending spends, and bounded offline spend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from loyalty.gs1 import ean_check_digit
from loyalty.qrtoken import generate_keypair, issue_token
from offline_cache.checks import CheckRecord, commit_check
from offline_cache.db import open_database
from offline_cache.errors import (
    IdentifierRefused,
    ManagerPinRequired,
    MemberNotCached,
    OfflineRefused,
    ProgramNotCached,
)
from offline_cache.members import MemberCache, MemberRow
from offline_cache.offline import (
    OfflinePolicy,
    authorize_offline_spend,
    identify_offline,
    offline_spend_limit,
)
from offline_cache.outbox import Outbox
from offline_cache.snapshots import ProgramCache

NOW = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)
CARD = "299000000001" + ean_check_digit("299000000001")
POLICY = OfflinePolicy(
    spend_enabled=True,
    per_check_cap=Decimal("400"),
    per_member_daily_cap=Decimal("600"),
    till_budget=Decimal("900"),
    manager_above=Decimal("300"),
)


def _db(tmp_path: Path) -> Database:
    db = open_database(tmp_path / "t.db")
    MemberCache(db).upsert_many(
        [
            MemberRow(
                "m1",
                "+79161234567",
                "active",
                Decimal("1000.00"),
                NOW - timedelta(hours=2),
                card_numbers=(CARD,),
            ),
            MemberRow("m2", "+380501234567", "blocked", Decimal("50.00"), NOW),
            MemberRow("m3", "+77011234567", "active", Decimal("5000.00"), NOW),
        ],
        refreshed_at=NOW,
    )
    return db


def _spend(db: Database, n: int, member: str, points: str, manager: str | None = None) -> None:
    commit_check(
        db,
        CheckRecord(
            check_id=f"c{n}",
            member_id=member,
            total=Decimal("2000.00"),
            earned=Decimal("0"),
            spent=Decimal(points),
            offline=True,
            payload={"check_id": f"c{n}"},
        ),
        policy=POLICY,
        override_by=manager,
        clock=lambda: NOW,
    )


def test_identify_by_typed_phone_and_by_card(tmp_path: Path) -> None:
    db = _db(tmp_path)
    found = identify_offline(db, "8 916 123-45-67", "RU", NOW)
    assert found.member.member_id == "m1" and found.identified_by == "phone"
    assert found.available == Decimal("1000.00") and found.age == timedelta(hours=2)
    assert identify_offline(db, CARD, "RU", NOW).member.member_id == "m1"
    with pytest.raises(MemberNotCached):
        identify_offline(db, "+79161234500", "RU", NOW)
    with pytest.raises(IdentifierRefused):
        identify_offline(db, "hello there!", "RU", NOW)


def test_identify_by_qr_verified_with_the_cached_key(tmp_path: Path) -> None:
    db = _db(tmp_path)
    private, public = generate_keypair()
    token = issue_token("m3", NOW - timedelta(seconds=30), private)
    with pytest.raises(ProgramNotCached):
        identify_offline(db, token, "RU", NOW)
    ProgramCache(db).store("7", {"name": "demo"}, public, timedelta(minutes=5), NOW)
    assert identify_offline(db, token, "RU", NOW).member.member_id == "m3"
    with pytest.raises(IdentifierRefused) as expired:
        identify_offline(db, token, "RU", NOW + timedelta(hours=1))
    assert expired.value.reason == "expired"
    other_private, _ = generate_keypair()
    forged = issue_token("m3", NOW, other_private)
    with pytest.raises(IdentifierRefused) as caught:
        identify_offline(db, forged, "RU", NOW)
    assert caught.value.reason == "forged"


def test_spend_is_off_by_default(tmp_path: Path) -> None:
    db = _db(tmp_path)
    member = MemberCache(db).by_id("m1")
    assert member is not None
    assert offline_spend_limit(db, member, OfflinePolicy(), NOW).bound == "disabled"
    with pytest.raises(OfflineRefused, match="not available"):
        authorize_offline_spend(db, "m1", Decimal("1"), OfflinePolicy(), NOW)


def test_each_bound_binds_and_pending_spends_reduce_the_balance(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with pytest.raises(OfflineRefused, match="cannot spend"):
        authorize_offline_spend(db, "m2", Decimal("1"), POLICY, NOW)
    with pytest.raises(OfflineRefused, match="one check") as per_check:
        authorize_offline_spend(db, "m3", Decimal("400.01"), POLICY, NOW, manager="boss")
    assert per_check.value.limit == Decimal("400.00")
    with pytest.raises(ManagerPinRequired):
        _spend(db, 1, "m1", "350")
    assert Outbox(db).unsent_count() == 0  # a refused commit wrote nothing
    _spend(db, 1, "m1", "350", manager="boss")
    _spend(db, 2, "m1", "200")
    # balance 1000 - 550 pending = 450, daily 600 - 550 = 50
    found = identify_offline(db, "+79161234567", "RU", NOW)
    assert found.pending_spend == Decimal("550.00") and found.available == Decimal("450.00")
    member = MemberCache(db).by_id("m1")
    assert member is not None
    assert offline_spend_limit(db, member, POLICY, NOW).bound == "daily"
    with pytest.raises(OfflineRefused, match="today"):
        _spend(db, 3, "m1", "50.01")
    # the till budget (900) with 550 used leaves 350 for anyone
    _spend(db, 4, "m3", "300")
    with pytest.raises(OfflineRefused, match="budget"):
        _spend(db, 5, "m3", "50.01")
    # acknowledgement releases the budget but not the member's daily cap
    Outbox(db).mark_sending(["c1"])
    Outbox(db).mark_acknowledged("c1", {})
    _spend(db, 6, "m3", "100")
    audit = db.execute(
        "SELECT override_by FROM audit_log WHERE action = 'offline_spend' ORDER BY seq"
    ).fetchall()
    assert audit == [("boss",), (None,), (None,), (None,)]


def test_older_figures_never_overwrite_newer_ones(tmp_path: Path) -> None:
    db = _db(tmp_path)
    cache = MemberCache(db)
    cache.upsert_many(
        [MemberRow("m3", "+77011234567", "active", Decimal("1.00"), NOW - timedelta(days=1))],
        refreshed_at=NOW,
    )
    member = cache.by_id("m3")
    assert member is not None and member.available == Decimal("5000.00")
    cache.update_balance("m3", Decimal("4900.00"), NOW + timedelta(minutes=1))
    member = cache.by_id("m3")
    assert member is not None and member.available == Decimal("4900.00")
    # a phone number moved to a new member is taken from the old one
    cache.upsert_many(
        [MemberRow("m9", "+77011234567", "active", Decimal("0"), NOW)], refreshed_at=NOW
    )
    moved = cache.by_phone("+77011234567")
    assert moved is not None and moved.member_id == "m9"
