"""On PostgreSQL a write waiting on the database does not stop its node serving: the write's
transaction runs on a writer thread, not on the event loop, so while one request waits for a
row another session has locked (a slow query, a long transaction of another node), the node
answers the others."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import psycopg

from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.server.testing import running_server

MEMBER = "100001"  # Anna, +79161234567
QUICK = ClientSettings(attempts=1, read_timeout=5.0)


def _waiting_on_a_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
    return row is not None and int(row[0]) > 0


def test_a_write_waiting_on_a_locked_row_does_not_stop_the_node_answering(pg_dsn: str) -> None:
    check = wire.OfflineCheck(
        check_id=str(uuid.uuid4()),
        member_id=MEMBER,
        lines=[wire.Line(name="bread", price=Decimal(40), quantity=Decimal(1), amount=Decimal(40))],
        spent_offline=Decimal(0),
        made_at=datetime.now(UTC),
    )
    with (
        running_server(pg_dsn, synchronous="NORMAL") as server,
        ProcessingClient(server.url, server.api_key, ClientSettings(attempts=1)) as till,
        psycopg.connect(pg_dsn) as blocker,
    ):
        # Another session holds the member's row: the replay, which updates it, must wait.
        blocker.execute("SELECT 1 FROM members WHERE id = %s FOR UPDATE", [MEMBER])
        answered: list[wire.CheckResult] = []
        writer = threading.Thread(
            target=lambda: answered.append(till.replay_offline(check, idempotency_key="k1"))
        )
        writer.start()
        try:
            for _ in range(3000):
                if _waiting_on_a_lock(pg_dsn):
                    break
                assert writer.is_alive() and not answered, "the write did not wait"
            else:
                raise AssertionError("the write never waited on the locked row")
            # Meanwhile the node answers: its health, and a read of the same member.
            assert httpx.get(f"{server.url}/v1/health", timeout=5).status_code == 200
            with ProcessingClient(server.url, server.api_key, QUICK) as other:
                assert other.identify("+79161234567").member.id == MEMBER
            assert writer.is_alive() and not answered  # the write is still waiting
        finally:
            blocker.rollback()
            writer.join(timeout=30)
        assert answered and answered[0].check_id == check.check_id


def test_a_read_waiting_on_the_database_does_not_stop_the_node_answering(pg_dsn: str) -> None:
    """An identify whose read waits (a table another session locked: a migration, a slow
    report) runs on a reader thread; the node's health and another till's calculation are
    answered meanwhile."""
    with (
        running_server(pg_dsn, synchronous="NORMAL") as server,
        ProcessingClient(server.url, server.api_key, QUICK) as till,
        psycopg.connect(pg_dsn) as blocker,
    ):
        # identify lists the member's coupons: with the table locked, its read waits.
        blocker.execute("LOCK TABLE coupons IN ACCESS EXCLUSIVE MODE")
        answered: list[wire.IdentifyResult] = []
        reader = threading.Thread(target=lambda: answered.append(till.identify("+79161234567")))
        reader.start()
        try:
            for _ in range(3000):
                if _waiting_on_a_lock(pg_dsn):
                    break
                assert reader.is_alive() and not answered, "the read did not wait"
            else:
                raise AssertionError("the read never waited on the locked table")
            assert httpx.get(f"{server.url}/v1/health", timeout=5).status_code == 200
            with ProcessingClient(server.url, server.api_key, QUICK) as other:
                calc = other.calculate(
                    wire.CheckRequest(
                        check_id=str(uuid.uuid4()),
                        member_id=MEMBER,
                        lines=[
                            wire.Line(
                                name="bread",
                                price=Decimal(40),
                                quantity=Decimal(1),
                                amount=Decimal(40),
                            )
                        ],
                    )
                )
                assert calc.member_id == MEMBER
            assert reader.is_alive() and not answered  # the read is still waiting
        finally:
            blocker.rollback()
            reader.join(timeout=30)
        assert answered and answered[0].member.id == MEMBER
