"""Several server nodes on one PostgreSQL: separate `serve` processes (as on separate
machines behind a load balancer) sharing nothing but the database.

- Tills on different nodes holding one member's balance at once: exactly one hold wins, the
  ledger stays sound, and a confirm replayed on both nodes at once has one effect and one answer.
- kill -9 of a node while it is applying a replay batch (its write transaction open in the
  database): nothing of the batch is kept; the same batch sent to the other node is applied
  exactly once, and again is all duplicates.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.errors import ProcessingError, Rejected
from processing.server import auth, ledger, members, snapshots
from processing.server.pg import PgStorage
from tests.support.nodes import node, seed_tills

MILK = "4600070000014"
SETTINGS = ClientSettings(attempts=1, read_timeout=20.0)


@pytest.fixture
def dsn(pg_dsn: str) -> str:
    return pg_dsn


def _line() -> wire.Line:
    return wire.Line(
        barcode=MILK, name="milk", price=Decimal("5000"), quantity=Decimal(1), amount=Decimal(5000)
    )


def test_tills_on_two_nodes_holding_one_balance_never_overspend(dsn: str, tmp_path: Path) -> None:
    keys = seed_tills(dsn, 8)
    with node(dsn, tmp_path, "a") as (_, url_a), node(dsn, tmp_path, "b") as (_, url_b):
        urls = [url_a, url_b]
        clients = [ProcessingClient(urls[i % 2], k, SETTINGS) for i, k in enumerate(keys)]
        try:
            # Eight tills, half on each node, each try to spend Taras's 400 points (300 of
            # them) at once: exactly one hold wins.
            outcomes: list[tuple[int, object]] = []
            barrier = threading.Barrier(len(clients))

            def till(n: int, c: ProcessingClient) -> None:
                req = wire.CheckRequest(
                    check_id=str(uuid.uuid4()),
                    member_id="100009",
                    lines=[_line()],
                    requested_spend=Decimal(300),
                )
                calc = c.calculate(req)
                barrier.wait(timeout=30)
                hold = wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint)
                try:
                    outcomes.append((n, c.hold(hold, idempotency_key=f"h{req.check_id}")))
                except Rejected as exc:
                    outcomes.append((n, exc.code))

            threads = [threading.Thread(target=till, args=(n, c)) for n, c in enumerate(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=90)
            held = [(n, o) for n, o in outcomes if isinstance(o, wire.Hold)]
            assert len(held) == 1 and len(outcomes) == len(clients), outcomes
            assert {o for _, o in outcomes if not isinstance(o, wire.Hold)} <= {
                "insufficient_points",
                "stale_calculation",
            }
            winner, won = held[0]
            # The winner's confirm, sent with one key to both nodes at once, 8 times over:
            # one effect, the very same answer every time.
            answers: list[bytes] = []

            def confirm(url: str) -> None:
                with httpx.Client(base_url=url, timeout=20) as raw:
                    answers.append(
                        raw.post(
                            f"/v1/checks/{won.check_id}/confirm",
                            headers={
                                "Authorization": f"Bearer {keys[winner]}",
                                "Idempotency-Key": "confirm-once",
                            },
                        ).content
                    )

            threads = [threading.Thread(target=confirm, args=(urls[i % 2],)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=90)
            assert len(answers) == 8 and len(set(answers)) == 1, answers
            assert wire.CheckResult.model_validate_json(answers[0]).spent == Decimal("300.00")
        finally:
            for c in clients:
                c.close()
    storage = PgStorage(dsn, pool_size=1)
    try:
        with storage.read() as db:
            assert ledger.audit(db) == []
            spent = db.execute(
                "SELECT COUNT(*), SUM(points) FROM movements WHERE kind = 'spend' AND check_id = ?",
                [won.check_id],
            ).fetchone()
            assert spent[0] >= 1 and spent[1] == -300_00
            assert ledger.available(db, "100009", int(time.time())) == 100_00
    finally:
        storage.close()


def _batch(count: int) -> list[wire.ReplayItem]:
    made = datetime.now(UTC)
    return [
        wire.ReplayItem(
            idempotency_key=f"k-{uuid.uuid4()}",
            check=wire.OfflineCheck(
                check_id=str(uuid.uuid4()),
                member_id="100001",
                lines=[_line()],
                spent_offline=Decimal("1.00") if i % 3 == 0 else Decimal(0),
                made_at=made,
            ),
        )
        for i in range(count)
    ]


def _writing(dsn: str) -> bool:
    """Whether some session on the database has a write transaction open (an xid assigned:
    it has written and not committed yet)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
        ).fetchone()
    return row is not None and int(row[0]) > 0


def _count(dsn: str, check_ids: list[str]) -> tuple[int, int]:
    """(checks stored among ``check_ids``, spend movements of them)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        checks = conn.execute("SELECT count(*) FROM checks WHERE id = ANY(%s)", [check_ids])
        spends = conn.execute(
            "SELECT count(*) FROM movements WHERE kind = 'spend' AND check_id = ANY(%s)",
            [check_ids],
        )
        return int(checks.fetchone()[0]), int(spends.fetchone()[0])  # type: ignore[index]


def test_node_killed_mid_batch_loses_nothing_and_doubles_nothing(dsn: str, tmp_path: Path) -> None:
    (key,) = seed_tills(dsn, 1)
    items = _batch(wire.MAX_BATCH)
    check_ids = [i.check.check_id for i in items]
    with node(dsn, tmp_path, "b") as (_, url_b):
        with node(dsn, tmp_path, "a") as (process_a, url_a):
            failure: list[BaseException] = []

            def send() -> None:
                with ProcessingClient(url_a, key, SETTINGS) as a:
                    try:
                        a.replay_batch(items)
                    except ProcessingError as exc:
                        failure.append(exc)

            sender = threading.Thread(target=send)
            sender.start()
            deadline = time.monotonic() + 30
            while not _writing(dsn):
                assert time.monotonic() < deadline, "node a never started applying the batch"
            os.kill(process_a.pid, signal.SIGKILL)  # its transaction is open in the database
            process_a.wait(timeout=10)
            sender.join(timeout=30)
            assert failure, "the till was answered although its node died mid-batch"
        # PostgreSQL rolls back the dead node's transaction when its connection drops.
        deadline = time.monotonic() + 30
        while _writing(dsn):
            assert time.monotonic() < deadline
        assert _count(dsn, check_ids)[0] == 0
        # The till retries the same batch on the other node: every check once.
        with ProcessingClient(url_b, key, SETTINGS) as b:
            first = b.replay_batch(items)
            again = b.replay_batch(items)
    assert [r.status for r in first] == ["applied"] * len(items), first[:3]
    assert [r.status for r in again] == ["duplicate"] * len(items)
    assert [r.result for r in again] == [r.result for r in first]
    stored, spends = _count(dsn, check_ids)
    assert stored == len(items)
    assert spends == len([i for i in items if i.check.spent_offline > 0])
    storage = PgStorage(dsn, pool_size=1)
    try:
        with storage.read() as db:
            assert ledger.audit(db) == []
    finally:
        storage.close()


def _waiting_on_a_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
    return row is not None and int(row[0]) > 0


def _delta(storage: PgStorage, after: int) -> tuple[list[str], int]:
    with storage.read() as db:
        got = snapshots.members_delta(db, after, 100, int(time.time()), "S1")
    return [m.id for m in got.items], int(got.cursor)


def test_member_delta_cursor_follows_commit_order_across_nodes(dsn: str) -> None:
    """A change that took its seq later cannot become visible before one that took it
    earlier and has not committed yet: a delta reader never moves its cursor past a change it
    has not seen."""
    seed_tills(dsn, 1)
    storage = PgStorage(dsn, pool_size=4)
    try:
        _, cursor = _delta(storage, 0)
        with ExitStack() as first:
            db = first.enter_context(storage.write())
            members.touch(db, "100001")  # seq N taken, not committed
            second = threading.Thread(
                target=storage.transact, args=(lambda db: members.touch(db, "100003"),)
            )
            second.start()
            deadline = time.monotonic() + 30
            while not _waiting_on_a_lock(dsn):
                assert time.monotonic() < deadline, "the second change never waited"
            # Meanwhile a reader sees neither change and keeps its cursor.
            assert _delta(storage, cursor) == ([], cursor)
            assert second.is_alive()
        second.join(timeout=30)
        seen, after = _delta(storage, cursor)
        assert seen == ["100001", "100003"]  # both, in the order their seqs were taken
        assert _delta(storage, after) == ([], after)
    finally:
        storage.close()


def test_a_key_revoked_through_one_node_is_refused_by_the_other_within_the_cache_time(
    dsn: str, tmp_path: Path
) -> None:
    (key,) = seed_tills(dsn, 1)
    with node(dsn, tmp_path, "a") as (_, url_a), node(dsn, tmp_path, "b") as (_, url_b):
        auth_header = {"Authorization": f"Bearer {key}"}
        for url in (url_a, url_b):  # both nodes have the key cached as valid
            assert httpx.get(f"{url}/v1/program", headers=auth_header).status_code == 200
        # The till is added again (a new key) through the database both nodes share.
        storage = PgStorage(dsn, pool_size=1)
        try:
            with storage.write() as db:
                auth.add_till(db, "S1", "T0", int(time.time()))
        finally:
            storage.close()
        deadline = time.monotonic() + 4 * auth._CACHE_SECONDS
        for url in (url_a, url_b):
            while httpx.get(f"{url}/v1/program", headers=auth_header).status_code != 401:
                assert time.monotonic() < deadline, f"{url} still accepts the revoked key"
                time.sleep(0.2)
