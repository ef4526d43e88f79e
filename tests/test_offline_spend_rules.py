"""Offline, the till spends points by the program's own rules first, the offline bounds on top.

Real till database with the demo program cached as the server sends it (30 % of a check at
most, at least 1.00 paid in money, tobacco not payable with points, whole points, no earn on
the part paid with points). Before, the offline preview offered the whole check: in a run of
varied offline sales about half the spends broke a rule, and the server debited them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from loyalty.check import calculate
from loyalty.member import MemberState
from loyalty.member import MemberView as CoreMember
from loyalty.program import Program, demo_program
from offline_cache.db import open_database
from offline_cache.errors import ManagerPinRequired
from offline_cache.members import MemberCache, MemberRow
from offline_cache.outbox import Outbox
from offline_cache.snapshots import ProgramCache
from terminal.composition import build_services
from terminal.config import Settings
from terminal.errors import TillError
from terminal.i18n import local
from terminal.offline_rules import core_line, offline_preview
from terminal.views import MemberView, Preview, SaleDraft, SaleLine

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BALANCE = Decimal("1500")
BOUNDS = {
    "spend_enabled": True,
    "per_check_cap": "1000",
    "per_member_daily_cap": "100000",
    "till_budget": "100000",
    "per_shift_cap": "100000",
    "manager_pin_above": "100000",
}


def _cache(path: Path, program: Program) -> Database:
    db = open_database(path)
    ProgramCache(db).store("7", program.to_dict(), "key", timedelta(minutes=5), NOW)
    MemberCache(db).upsert_many(
        [MemberRow("m1", "+79161234567", "active", BALANCE, NOW, details={"lifetime_spend": "0"})],
        refreshed_at=NOW,
    )
    return db


def _settings(path: Path, **offline: str | bool) -> Settings:
    return Settings(
        processing={"url": "http://127.0.0.1:9", "api_key": "k"},
        offline={"db_path": str(path), **BOUNDS, **offline},
    )


def _member() -> MemberView:
    return MemberView(
        member_id="m1",
        phone_masked="+7 916 ***-**-67",
        name=None,
        state="active",
        tier_name="",
        tier_rate=Decimal(0),
        next_tier=None,
        to_next=None,
        available=BALANCE,
        online=False,
    )


def _line(price: str, category: str = "", discounted: bool = False) -> SaleLine:
    return SaleLine("x", Decimal(price), Decimal(1), Decimal(price), discounted, None, category)


def _draft(*lines: SaleLine, spend: str) -> SaleDraft:
    return SaleDraft(str(uuid.uuid4()), _member(), lines, spend=Decimal(spend))


def test_a_200_check_offers_at_most_30_percent(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = _cache(path, demo_program())
    preview = offline_preview(db, _settings(path), _draft(_line("200.00"), spend="200"), NOW)
    assert preview.max_spend == Decimal(60) and preview.spend == Decimal(60)
    assert preview.to_pay == Decimal("140.00")


def test_at_least_the_minimum_is_paid_in_money(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    program = demo_program()
    generous = replace(program, spend=replace(program.spend, max_percent_of_check=Decimal(100)))
    db = _cache(path, generous)
    preview = offline_preview(db, _settings(path), _draft(_line("5.00"), spend="5"), NOW)
    assert preview.spend == Decimal(4) and preview.to_pay == Decimal("1.00")


def test_tobacco_is_not_paid_with_points(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = _cache(path, demo_program())
    tobacco = _draft(_line("189.00", "tobacco"), spend="50")
    preview = offline_preview(db, _settings(path), tobacco, NOW)
    assert preview.max_spend == 0 and preview.spend == 0
    mixed = offline_preview(
        db, _settings(path), _draft(_line("189.00", "tobacco"), _line("10.00"), spend="50"), NOW
    )
    assert mixed.spend == Decimal(10)  # within 30 % of the check, but only the bread pays


def test_no_fractional_points_when_the_program_spends_whole_points(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = _cache(path, demo_program())
    preview = offline_preview(db, _settings(path), _draft(_line("100.00"), spend="10.50"), NOW)
    assert preview.spend == Decimal(10)


def test_the_part_paid_with_points_earns_nothing(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = _cache(path, demo_program())
    paid = offline_preview(db, _settings(path), _draft(_line("1000.00"), spend="300"), NOW)
    cash = offline_preview(db, _settings(path), _draft(_line("1000.00"), spend="0"), NOW)
    assert paid.spend == Decimal(300)
    assert cash.earn == Decimal(30) and paid.earn == Decimal(21)  # 3 % of 700.00


def test_the_offline_bounds_apply_on_top_of_the_program(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = _cache(path, demo_program())
    capped = _settings(path, per_check_cap="45.50")
    preview = offline_preview(db, capped, _draft(_line("1000.00"), spend="300"), NOW)
    assert preview.spend == Decimal(45) and preview.max_spend == Decimal(45)


def test_without_a_cached_program_nothing_is_spent_offline(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = _cache(path, demo_program())
    db.execute("DELETE FROM program")
    preview = offline_preview(db, _settings(path), _draft(_line("100.00"), spend="10"), NOW)
    assert preview.spend == 0 and preview.max_spend == 0


def test_a_commit_refuses_a_spend_the_program_does_not_allow(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    _cache(path, demo_program()).close()
    services = build_services(_settings(path), clock=lambda: NOW)
    try:
        services.office.start_shift("1")
        draft = _draft(_line("200.00"), spend="200")
        forged = Preview(
            draft.check_id,
            Decimal(200),
            Decimal(0),
            Decimal(200),
            Decimal(200),
            Decimal(0),
            False,
            "offline",
            online=False,
        )
        with pytest.raises(TillError):
            services.sales.commit_sale(draft, forged)
        with services.store.database() as db:
            assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
        result = services.sales.commit_sale(draft, services.sales.preview(draft))
        assert result.spent == Decimal(60) and result.offline
    finally:
        services.close()


lines_strategy = st.lists(
    st.tuples(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000"), places=2),
        st.sampled_from(["", "dairy", "tobacco", "bakery"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Database]]:
    """One cached till for every example (the preview only reads)."""
    path = tmp_path_factory.mktemp("till") / "till.sqlite3"
    db = _cache(path, demo_program())
    yield path, db
    db.close()


@settings(max_examples=60, deadline=None)
@given(
    lines=lines_strategy,
    request=st.decimals(min_value=Decimal(0), max_value=Decimal(3000), places=2),
    per_check=st.decimals(min_value=Decimal(0), max_value=Decimal(2000), places=2),
)
def test_no_offline_spend_breaks_a_rule(
    varied: tuple[Path, Database],
    lines: list[tuple[Decimal, str, bool]],
    request: Decimal,
    per_check: Decimal,
) -> None:
    path, db = varied
    program = demo_program()
    sale = [_line(str(price), category, discounted) for price, category, discounted in lines]
    draft = _draft(*sale, spend=str(request))
    preview = offline_preview(db, _settings(path, per_check_cap=str(per_check)), draft, NOW)
    rules = program.spend
    payable = sum((line.amount for line in sale if line.category != "tobacco"), Decimal(0))
    assert 0 <= preview.spend <= preview.max_spend
    assert preview.spend <= request and preview.spend <= per_check
    assert preview.spend <= payable
    assert preview.spend <= preview.total * rules.max_percent_of_check / 100
    assert preview.spend == 0 or preview.total - preview.spend >= rules.min_paid_in_money
    assert preview.spend == preview.spend.to_integral_value()  # whole points
    # The core, given exactly this spend, takes it whole and earns what the preview says.
    member = CoreMember("m1", MemberState.ACTIVE, Decimal(0), None, BALANCE)
    core = calculate(program, [core_line(x) for x in sale], member, preview.spend, (), local(NOW))
    assert core.spend_applied == preview.spend
    assert core.earn_total == preview.earn


def test_a_spend_the_program_would_ask_a_code_for_needs_the_manager_offline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "till.sqlite3"
    program = demo_program()
    strict = replace(program, spend=replace(program.spend, code_threshold=Decimal(50)))
    _cache(path, strict).close()
    services = build_services(_settings(path), clock=lambda: NOW)
    try:
        services.office.start_shift("1")
        draft = _draft(_line("1000.00"), spend="100")
        preview = services.sales.preview(draft)
        assert preview.spend == Decimal(100)
        with pytest.raises(ManagerPinRequired):
            services.sales.commit_sale(draft, preview)
        approved = replace(draft, override_by="manager-7")
        assert services.sales.commit_sale(approved, preview).spent == Decimal(100)
        with services.store.database() as db:
            payload = Outbox(db).get(draft.check_id).payload
        # The server sees who approved it: without that, it holds the spend as a conflict.
        assert payload["manager_override"]["cashier_id"] == "manager-7"
    finally:
        services.close()
