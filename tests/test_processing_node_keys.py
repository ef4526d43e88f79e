"""One idempotency key sent to two server nodes at the same moment (a till's retry that the
load balancer gave to the other node while the first was still working): the key is claimed
before the handler runs, so exactly one node runs it; the other answers with the very bytes
the first stored.

"Runs" are counted by the database itself: a trigger on ``checks`` (which every hold, confirm
and offline replay writes) bumps a sequence once per transaction that writes a check, rolled
back or not — sequences are not transactional, so a handler run whose effects a later
conflict undid is counted too. One key, one run.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg

from processing import wire
from processing.client import ProcessingClient
from processing.server import ledger
from processing.server.pg import PgStorage
from tests.support.nodes import node, seed_tills

ROUNDS = 8
MILK = "4600070000014"
SPENDER = "100009"  # Taras: 400 points, spends without a code
EARNER = "100001"

RUN_COUNTER = """
CREATE SEQUENCE test_handler_runs;
CREATE FUNCTION test_count_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: a setting local to the transaction says it was counted.
    IF coalesce(current_setting('till_test.counted', true), '') <> 'yes' THEN
        PERFORM set_config('till_test.counted', 'yes', true);
        PERFORM nextval('test_handler_runs');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER test_count_run AFTER INSERT OR UPDATE ON checks
    FOR EACH ROW EXECUTE FUNCTION test_count_run();
"""


def _runs(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM test_handler_runs"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _line() -> wire.Line:
    return wire.Line(
        barcode=MILK, name="milk", price=Decimal("50"), quantity=Decimal(1), amount=Decimal(50)
    )


def _at_once(urls: list[str], path: str, api_key: str, key: str, body: str) -> list[bytes]:
    """POST ``body`` under ``key`` to every node at the same moment; the answers' bodies."""
    answers: dict[int, httpx.Response] = {}
    clients = [httpx.Client(base_url=url, timeout=30) for url in urls]
    for client in clients:  # connected before the start, so the requests leave together
        assert client.get("/v1/health").status_code == 200
    barrier = threading.Barrier(len(clients))

    def send(n: int, client: httpx.Client) -> None:
        barrier.wait(timeout=30)
        answers[n] = client.post(
            path,
            content=body,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Idempotency-Key": key,
                "Content-Type": "application/json",
            },
        )

    threads = [threading.Thread(target=send, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for client in clients:
        client.close()
    assert len(answers) == len(urls), "a node did not answer"
    assert [a.status_code for a in answers.values()] == [200] * len(urls), [
        a.text for a in answers.values()
    ]
    return [answers[n].content for n in range(len(urls))]


def test_one_key_sent_to_two_nodes_at_once_runs_once_with_one_answer(
    pg_dsn: str, tmp_path: Path
) -> None:
    (api_key,) = seed_tills(pg_dsn, 1)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(RUN_COUNTER)
    held: list[str] = []
    replayed: list[str] = []
    with (
        node(pg_dsn, tmp_path, "a") as (_, url_a),
        node(pg_dsn, tmp_path, "b") as (_, url_b),
        ProcessingClient(url_a, api_key) as till,
    ):
        urls = [url_a, url_b]
        for n in range(ROUNDS):
            urls.reverse()  # neither node is always first
            check = wire.CheckRequest(
                check_id=str(uuid.uuid4()),
                member_id=SPENDER,
                lines=[_line()],
                requested_spend=Decimal(10),
            )
            calc = till.calculate(check)
            hold = wire.HoldRequest(**check.model_dump(), fingerprint=calc.fingerprint)
            path = f"/v1/checks/{check.check_id}"
            runs = _runs(pg_dsn)
            answers = _at_once(urls, f"{path}/hold", api_key, f"h{n}", hold.model_dump_json())
            assert answers[0] == answers[1] and _runs(pg_dsn) == runs + 1, f"hold, round {n}"
            answers = _at_once(urls, f"{path}/confirm", api_key, f"c{n}", "")
            assert answers[0] == answers[1] and _runs(pg_dsn) == runs + 2, f"confirm, round {n}"
            assert wire.CheckResult.model_validate_json(answers[0]).spent == Decimal("10.00")
            held.append(check.check_id)

            offline = wire.OfflineCheck(
                check_id=str(uuid.uuid4()),
                member_id=EARNER,
                lines=[_line()],
                spent_offline=Decimal("1.00"),
                made_at=datetime.now(UTC),
            )
            answers = _at_once(
                urls, "/v1/checks/offline", api_key, f"o{n}", offline.model_dump_json()
            )
            assert answers[0] == answers[1] and _runs(pg_dsn) == runs + 3, f"offline, round {n}"
            replayed.append(offline.check_id)
    storage = PgStorage(pg_dsn, pool_size=1)
    try:
        with storage.read() as db:
            assert ledger.audit(db) == []
            for ids, points in ((held, -10_00), (replayed, -1_00)):
                # A spend may take several lots (a movement each); its sum is taken once.
                spends = db.execute(
                    "SELECT check_id, SUM(points) FROM movements WHERE kind = 'spend'"
                    f" AND check_id IN ({','.join('?' * len(ids))}) GROUP BY check_id",
                    ids,
                ).fetchall()
                assert sorted((r[0], r[1]) for r in spends) == sorted((i, points) for i in ids)
            pending = db.execute("SELECT COUNT(*) FROM idempotency WHERE status = 0").fetchone()
            assert pending[0] == 0
    finally:
        storage.close()
