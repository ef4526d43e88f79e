"""Exactly once through network faults: what the reliability tests share (SQLite with one
server, PostgreSQL with two nodes). The real till parts (the ``offline_cache`` outbox,
``SyncEngine``, ``ProcessingTransport`` over ``ProcessingClient``) drain offline checks to the
real server through ``tests.faultproxy``; the server's ledger is read with plain SQL
(:data:`Rows`), whichever engine keeps it."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlite_utils import Database

from offline_cache.checks import CheckRecord, commit_check
from offline_cache.db import open_database
from offline_cache.link import ProcessingTransport
from offline_cache.outbox import verify_chain
from offline_cache.sync import SyncEngine
from processing import wire
from processing.client import ClientSettings, ProcessingClient
from tests.faultproxy import FORWARDING_FAULTS, Fault, FaultProxy, Message

PHONES = {"100001": "+79161234567", "100002": "+79161234568", "100007": "+79161234573"}
"""Anna (3 %), Ivan (5 %), Dmitry (no points yet: earn only)."""
MEMBERS = tuple(PHONES)
SPENDERS = frozenset({"100001", "100002"})
FAULTS = (
    Fault.REFUSE,
    Fault.RESET_ON_ACCEPT,
    Fault.RESET_MID_RESPONSE,
    Fault.STALL,
    Fault.TRUNCATE,
    Fault.ERROR_500,
    Fault.ERROR_500_AFTER_FORWARD,
)
BATCH = 4
PER_FAULT = 3 * BATCH  # one batch passes, the second is hit, the third waits behind it
# Reads give up well before the proxy's 2 s stall ends, so the server applies a stalled
# request after the client has written it off. The breaker is kept out of the way: every
# drain must reach the proxy (the breaker has its own tests).
SETTINGS = ClientSettings(
    connect_timeout=0.5,
    read_timeout=1.0,
    attempts=2,
    retry_budget=3.0,
    backoff=0.01,
    breaker_threshold=1_000_000,
)


@dataclass(frozen=True)
class Expected:
    """A committed check and what the server must do with it, in hundredths of a point."""

    check_id: str
    member_id: str
    earn: int
    spend: int


@dataclass(frozen=True)
class Figures:
    available: Decimal
    frozen: Decimal


def cents(points: Decimal) -> int:
    return int(points * 100)


def commit(db: Database, oracle: ProcessingClient, n: int, start: int) -> list[Expected]:
    """Commit ``n`` offline checks; the server's calculation (direct, no faults) gives the
    earn each must get, and the till's provisional earn is set to it."""
    made: list[Expected] = []
    for i in range(start, start + n):
        member = MEMBERS[i % len(MEMBERS)]
        price = Decimal(40 + 15 * (i % 9)) + Decimal("0.90")
        spend = Decimal("7.00") if member in SPENDERS and i % 2 == 0 else Decimal(0)
        check_id = str(uuid.uuid4())
        lines = [wire.Line(name="bread", price=price, quantity=Decimal(1), amount=price)]
        calc = oracle.calculate(
            wire.CheckRequest(
                check_id=check_id, member_id=member, lines=lines, requested_spend=spend
            )
        )
        assert calc.spend == spend, calc
        check = wire.OfflineCheck(
            check_id=check_id,
            member_id=member,
            lines=lines,
            spent_offline=spend,
            provisional_earn=calc.earn,
            made_at=datetime.now(UTC),
        )
        record = CheckRecord(
            check_id,
            member,
            price,
            calc.earn,
            spend,
            offline=True,
            payload=check.model_dump(mode="json"),
            provisional=True,
        )
        commit_check(db, record)
        made.append(Expected(check_id, member, cents(calc.earn), cents(spend)))
    return made


def figures(client: ProcessingClient) -> dict[str, Figures]:
    out = {}
    for member in MEMBERS:
        found = client.identify(PHONES[member])
        assert found.member.id == member
        balance = found.balance
        out[member] = Figures(balance.available, balance.frozen_total)
    return out


Rows = Callable[[str], list[tuple[Any, ...]]]
"""Runs a query (no parameters) on the server's database: its rows."""


def sqlite_rows(server_db: Path) -> Rows:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(server_db, timeout=10)) as ledger:
            return list(ledger.execute(sql))

    return rows


def pg_rows(dsn: str) -> Rows:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn, autocommit=True) as ledger:
            return list(ledger.execute(sql))

    return rows


def server_ids(rows: Rows) -> set[str]:
    return {row[0] for row in rows("SELECT id FROM checks")}


def unsent(db: Database) -> set[str]:
    rows = db.execute("SELECT id FROM outbox WHERE state IN ('pending', 'sending')")
    return {row[0] for row in rows}


def batch_keys(request: Message | None) -> set[str]:
    if request is None or not request.path.endswith("/checks/offline/batch"):
        return set()
    return {item["idempotency_key"] for item in json.loads(request.body)["items"]}


def assert_exactly_once(
    rows: Rows,
    db: Database,
    committed: list[Expected],
    before: dict[str, Figures],
    after: dict[str, Figures],
) -> None:
    """Ledger, movements, balances and the till's own state agree with ``committed``."""
    ids = [c.check_id for c in committed]
    on_server = sorted(row[0] for row in rows("SELECT id FROM checks"))
    assert on_server == sorted(ids), "the server ledger differs from what the till committed"
    moved = {
        row[0]: (row[1], row[2])
        for row in rows(
            "SELECT check_id, SUM(CASE WHEN kind = 'earn' THEN points ELSE 0 END),"
            " -SUM(CASE WHEN kind = 'spend' THEN points ELSE 0 END)"
            " FROM movements WHERE check_id IS NOT NULL GROUP BY check_id"
        )
    }
    columns = {row[0]: (row[1], row[2]) for row in rows("SELECT id, earn, spend FROM checks")}
    for c in committed:
        assert moved.get(c.check_id, (0, 0)) == (c.earn, c.spend), f"points moved for {c}"
        assert columns[c.check_id] == (c.earn, c.spend), f"the server's figures for {c}"
    for member in MEMBERS:
        earned = sum(c.earn for c in committed if c.member_id == member)
        spent = sum(c.spend for c in committed if c.member_id == member)
        was, now = before[member], after[member]
        assert cents(now.available) == cents(was.available) - spent, f"{member} available"
        assert cents(now.frozen) == cents(was.frozen) + earned, f"{member} frozen (earned)"
    assert unsent(db) == set()
    assert db.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM conflicts").fetchone()[0] == 0
    assert verify_chain(db) == len(ids)


def each_fault_then_healing(
    rows: Rows,
    oracle: ProcessingClient,
    api_key: str,
    proxy: FaultProxy,
    till_db: Path,
    route: Callable[[int, bool], None] = lambda n, healing: None,
) -> list[Expected]:
    """Each of :data:`FAULTS` in turn: a batch passes, two drains hit the fault, the proxy
    heals and a drain delivers the rest; after each, exactly once (:func:`assert_exactly_once`).
    ``route(n, healing)`` is called before the ``n``-th fault's drains (``healing`` False) and
    before its healing drain (True): where the proxy sends them (several server nodes)."""
    committed: list[Expected] = []
    with (
        ProcessingClient(proxy.url, api_key, SETTINGS) as client,
        closing(open_database(till_db)) as db,
    ):
        before = figures(oracle)
        engine = SyncEngine(till_db, ProcessingTransport(client), batch_size=BATCH)
        for n, fault in enumerate(FAULTS):
            route(n, False)
            batch = commit(db, oracle, PER_FAULT, len(committed))
            committed += batch
            seen = len(proxy.injected)
            proxy.set_fault(fault, after=1)
            first = engine.drain()
            again = engine.drain()  # a retry under the same fault fails the same way
            assert proxy.wait_idle(timeout=15), "a request is still held by the proxy"
            assert first.acknowledged == BATCH and first.error is not None, (fault, first)
            assert again.acknowledged == 0 and again.error is not None, (fault, again)
            assert first.dead == [] and again.dead == []
            assert proxy.count(fault) >= 1, fault
            hit = set().union(*(batch_keys(i.request) for i in proxy.injected[seen:]))
            waiting = unsent(db)
            on_server = server_ids(rows)
            assert waiting == {c.check_id for c in batch[BATCH:]}, fault
            if fault in FORWARDING_FAULTS:
                # The server applied the batch; the till was told nothing and holds it unsent.
                assert hit and hit <= on_server and hit <= waiting, fault
            else:
                assert not hit & on_server, f"{fault}: the server saw a request it never got"
            proxy.heal()
            route(n, True)
            healed = engine.drain()
            assert healed.ok and healed.acknowledged == len(waiting), (fault, healed)
            assert_exactly_once(rows, db, committed, before, figures(oracle))
        assert proxy.hook_errors == []
        assert len(committed) == len(FAULTS) * PER_FAULT
    return committed
