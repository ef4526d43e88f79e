"""Store timezones: the rules' calendar day is the store's, not UTC's, against the real server.

The demo program doubles points from 1 to 10 January 2027 and gives 14 % from two days before
a birthday through the birthday. At 2026-12-31T19:30Z it is already 00:30 on 1 January in
Almaty (UTC+5) but still 31 December in UTC.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty.claims import claim_code
from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.errors import Rejected
from processing.server.testing import ManualClock, RunningServer, running_server

ANNA = "100001"  # base tier, 3 %
MILK = "4600070000014"
NEW_YEAR_IN_ALMATY = datetime(2026, 12, 31, 19, 30, tzinfo=UTC)  # 00:30 on 1 January there


def lines() -> list[wire.Line]:
    return [
        wire.Line(
            barcode=MILK,
            name="Молоко",
            category="dairy",
            price=Decimal("1000.00"),
            quantity=Decimal("1"),
            amount=Decimal("1000.00"),
        )
    ]


def check(member: str = ANNA) -> wire.CheckRequest:
    return wire.CheckRequest(check_id=str(uuid.uuid4()), member_id=member, lines=lines())


def client_for(server: RunningServer, key: str) -> ProcessingClient:
    return ProcessingClient(server.url, key, ClientSettings(attempts=1))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NEW_YEAR_IN_ALMATY)


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[RunningServer]:
    with running_server(tmp_path / "processing.db", clock=clock, synchronous="NORMAL") as live:
        yield live


@pytest.fixture
def utc_till(server: RunningServer) -> Iterator[ProcessingClient]:
    """The seeded till: store S1, which has no timezone of its own (the default, UTC)."""
    with client_for(server, server.api_key) as c:
        yield c


@pytest.fixture
def almaty_till(server: RunningServer) -> Iterator[ProcessingClient]:
    with client_for(server, server.add_till("ALA-1", "T1", "Asia/Almaty")) as c:
        yield c


def test_new_year_promotion_starts_at_the_stores_midnight(
    utc_till: ProcessingClient, almaty_till: ProcessingClient
) -> None:
    # The same instant: x2 in Almaty (1 January), none in a UTC store (31 December).
    assert almaty_till.calculate(check()).earn == Decimal("60.00")
    assert utc_till.calculate(check()).earn == Decimal("30.00")


def test_promotion_hold_and_confirm_use_the_stores_day_and_its_dates(
    server: RunningServer, utc_till: ProcessingClient, almaty_till: ProcessingClient
) -> None:
    req = check()
    calc = almaty_till.calculate(req)
    hold = wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint)
    held = almaty_till.hold(hold, idempotency_key="tz-hold")  # the fast path's hold
    assert held.calculation.earn == Decimal("60.00")
    result = almaty_till.confirm(req.check_id, idempotency_key="tz-confirm")
    assert result.earned == Decimal("60.00")
    # Frozen 14 days: until 2027-01-14T19:30Z, which is 15 January in Almaty. The wire time
    # stays UTC; the customer's sentence names the store's day.
    assert result.frozen_until == NEW_YEAR_IN_ALMATY + timedelta(days=14)
    assert result.frozen_until is not None and result.frozen_until.utcoffset() == timedelta(0)
    assert "become active on 15.01.2027" in result.message.text
    # The same sale in the UTC store: no x2, and 14 January.
    other = check()
    calc = utc_till.calculate(other)
    hold = wire.HoldRequest(**other.model_dump(), fingerprint=calc.fingerprint)
    assert utc_till.hold(hold, idempotency_key="tz-hold-utc").calculation.earn == Decimal("30.00")
    result = utc_till.confirm(other.check_id, idempotency_key="tz-confirm-utc")
    assert result.earned == Decimal("30.00")
    assert "become active on 14.01.2027" in result.message.text


def _set_birthday(server: RunningServer, member_id: str, birthday: str) -> None:
    with server.ctx.storage.write() as db:
        db.execute("UPDATE members SET birthday = ? WHERE id = ?", [birthday, member_id])


def test_birthday_window_opens_at_the_stores_midnight(
    server: RunningServer,
    clock: ManualClock,
    utc_till: ProcessingClient,
    almaty_till: ProcessingClient,
) -> None:
    # Birthday 17 June: the 14 % window opens on 15 June. Almaty's 15 June starts at
    # 2026-06-14T19:00Z, while UTC is still on 14 June.
    _set_birthday(server, ANNA, "1990-06-17")
    clock.now = datetime(2026, 6, 14, 18, 59, 59, tzinfo=UTC)  # 23:59:59 on 14 June there
    assert almaty_till.calculate(check()).earn == Decimal("30.00")
    assert almaty_till.identify("+79161234567").member.birthday_window is False
    clock.now = datetime(2026, 6, 14, 19, 0, 0, tzinfo=UTC)  # midnight in Almaty
    assert almaty_till.calculate(check()).earn == Decimal("140.00")
    assert almaty_till.identify("+79161234567").member.birthday_window is True
    assert utc_till.calculate(check()).earn == Decimal("30.00")
    assert utc_till.identify("+79161234567").member.birthday_window is False


def test_offline_replay_earns_by_the_stores_day_at_made_at(
    clock: ManualClock, utc_till: ProcessingClient, almaty_till: ProcessingClient
) -> None:
    clock.now = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)  # long after the promotion
    for till, key, earned in ((almaty_till, "ala", "60.00"), (utc_till, "utc", "30.00")):
        offline = wire.OfflineCheck(
            check_id=f"offline-{key}",
            member_id=ANNA,
            lines=lines(),
            made_at=NEW_YEAR_IN_ALMATY,
        )
        result = till.replay_offline(offline, idempotency_key=f"offline-{key}")
        assert result.earned == Decimal(earned), key
    # The batch route takes the same path.
    batch = almaty_till.replay_batch(
        [
            wire.ReplayItem(
                idempotency_key="batch-ala",
                check=wire.OfflineCheck(
                    check_id="batch-ala", member_id=ANNA, lines=lines(), made_at=NEW_YEAR_IN_ALMATY
                ),
            )
        ]
    )
    assert batch[0].result is not None and batch[0].result.earned == Decimal("60.00")


def test_claim_keeps_the_selling_stores_day_wherever_it_is_redeemed(
    utc_till: ProcessingClient, almaty_till: ProcessingClient
) -> None:
    request = wire.ClaimRequest(
        check_id="claim-ala",
        code=claim_code("claim-ala"),
        lines=lines(),
        made_at=NEW_YEAR_IN_ALMATY,
    )
    claim = almaty_till.create_claim(request, idempotency_key="claim-ala")
    assert claim.earn_at_least == Decimal("60.00")
    # Valid for 30 days: until 2027-01-30T19:30Z, the 31st in Almaty.
    assert claim.message.params["until"] == "31.01.2027"
    # The claim is the Almaty store's: another store cannot register it again (404).
    with pytest.raises(Rejected) as caught:
        utc_till.create_claim(request, idempotency_key="claim-ala-utc")
    assert caught.value.code == "unknown_check"
    # Redeemed in the UTC store: still the Almaty sale's x2 (never below earn_at_least), and
    # the redeeming store's dates in the answer.
    redeemed = utc_till.redeem_claim(claim.code, ANNA, idempotency_key="redeem-ala")
    assert redeemed.check.earned == Decimal("60.00")
    assert "active on 14.01.2027" in redeemed.message.text
    request = wire.ClaimRequest(
        check_id="claim-utc",
        code=claim_code("claim-utc"),
        lines=lines(),
        made_at=NEW_YEAR_IN_ALMATY,
    )
    claim = utc_till.create_claim(request, idempotency_key="claim-utc")
    assert claim.earn_at_least == Decimal("30.00")
    assert claim.message.params["until"] == "30.01.2027"


def test_without_store_timezones_the_calendar_stays_utc(
    server: RunningServer, clock: ManualClock, utc_till: ProcessingClient
) -> None:
    with server.ctx.storage.read() as db:
        assert db.execute("SELECT COUNT(*) FROM stores").fetchone()[0] == 0
    clock.now = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert utc_till.calculate(check()).earn == Decimal("30.00")
    clock.now = datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert utc_till.calculate(check()).earn == Decimal("60.00")


def test_serve_default_timezone_applies_to_stores_without_one(
    tmp_path: Path, clock: ManualClock
) -> None:
    with running_server(
        tmp_path / "p.db", clock=clock, synchronous="NORMAL", timezone="Asia/Almaty"
    ) as live:
        with client_for(live, live.api_key) as s1:  # S1: no row, the server's default
            assert s1.calculate(check()).earn == Decimal("60.00")
        with client_for(live, live.add_till("UTC-1", "T1", "UTC")) as own:  # its own zone
            assert own.calculate(check()).earn == Decimal("30.00")


def test_add_till_timezone_changes_the_stores_zone(server: RunningServer) -> None:
    with client_for(server, server.api_key) as before:
        assert before.calculate(check()).earn == Decimal("30.00")
    with client_for(server, server.add_till("S1", "T2", "Asia/Almaty")) as after:
        assert after.calculate(check()).earn == Decimal("60.00")
    with server.ctx.storage.read() as db:
        rows = db.execute("SELECT store_id, timezone FROM stores").fetchall()
    assert [tuple(r) for r in rows] == [("S1", "Asia/Almaty")]


def _cli(*args: str, tz: str | None = None) -> subprocess.CompletedProcess[str]:
    env = None if tz is None else {**os.environ, "TZ": tz}
    return subprocess.run(
        [sys.executable, "-m", "processing.server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_add_till_with_an_unknown_timezone_is_one_line_and_no_till(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    for name in ("Mars/Olympus", "Europe", "../../etc/passwd"):
        result = _cli(
            "add-till", "--store", "S1", "--till", "T1", "--timezone", name, "--db", str(db)
        )
        assert result.returncode != 0, name
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Unknown timezone" in result.stderr and "Traceback" not in result.stderr
    if db.exists():
        assert _rows(db, "SELECT COUNT(*) FROM tills") == [(0,)]
        assert _rows(db, "SELECT COUNT(*) FROM stores") == [(0,)]
    good = _cli(
        "add-till", "--store", "S1", "--till", "T1", "--timezone", "Europe/Moscow", "--db", str(db)
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("till_")
    assert _rows(db, "SELECT store_id, timezone FROM stores") == [("S1", "Europe/Moscow")]


def test_serve_with_an_unknown_timezone_is_one_line(tmp_path: Path) -> None:
    result = _cli("serve", "--timezone", "Nowhere/Town", "--db", str(tmp_path / "p.db"))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Unknown timezone 'Nowhere/Town'" in result.stderr


def test_seed_demo_gives_the_demo_store_the_machines_timezone(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    result = _cli("seed", "--demo", "--db", str(db), tz="Asia/Almaty")
    assert result.returncode == 0, result.stderr
    assert "demo store S1 timezone: Asia/Almaty" in result.stdout
    assert _rows(db, "SELECT store_id, timezone FROM stores") == [("S1", "Asia/Almaty")]
    # A machine on UTC leaves the demo store to the server's default.
    other = tmp_path / "q.db"
    assert _cli("seed", "--demo", "--db", str(other), tz="UTC").returncode == 0
    assert _rows(other, "SELECT COUNT(*) FROM stores") == [(0,)]


def test_add_till_local_takes_the_machines_timezone(tmp_path: Path) -> None:
    # What ``till demo`` does: its till and its server share this machine's clock.
    db = tmp_path / "p.db"
    args = ("add-till", "--store", "store-1", "--till", "t", "--timezone", "local")
    result = _cli(*args, "--db", str(db), tz="Asia/Almaty")
    assert result.returncode == 0, result.stderr
    assert _rows(db, "SELECT store_id, timezone FROM stores") == [("store-1", "Asia/Almaty")]
    other = tmp_path / "q.db"
    assert _cli(*args, "--db", str(other), tz="UTC").returncode == 0
    assert _rows(other, "SELECT COUNT(*) FROM stores") == [(0,)]
