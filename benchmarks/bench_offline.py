"""Offline-cache figures: committing a check, offline identify in 1M members, draining 10k.

Floors are measured in the same run on the same disk: a raw sqlite3 INSERT+COMMIT with
synchronous=FULL; a raw primary-key lookup in the same 1M-member file; draining has no floor
(checks/s against a target, with peak memory growth).
"""

from __future__ import annotations

import os
import resource
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from benchmarks.result import Result, median, percentile, ratio_result, timings
from loyalty.phones import normalize_phone
from offline_cache.checks import CheckRecord, commit_check
from offline_cache.db import open_database
from offline_cache.members import MemberCache
from offline_cache.offline import identify_offline
from offline_cache.txn import write_transaction

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _check(check_id: str) -> CheckRecord:
    payload = {
        "check_id": check_id,
        "member_id": "100001",
        "lines": [{"name": "bread", "price": "50.00", "quantity": "1", "amount": "50.00"}],
        "spent_offline": "0",
        "provisional_earn": "1.50",
        "made_at": NOW.isoformat(),
    }
    return CheckRecord(
        check_id, "100001", Decimal("50.00"), Decimal("1.50"), Decimal("0"), True, payload
    )


def bench_outbox_commit() -> Result:
    """Median seconds to commit a check (check + outbox + audit) vs a raw INSERT+COMMIT."""
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        raw = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("CREATE TABLE t (id TEXT PRIMARY KEY, payload TEXT)")
        body = "x" * 300

        def floor_once() -> None:
            raw.execute("BEGIN")
            raw.execute("INSERT INTO t VALUES (?, ?)", (str(uuid.uuid4()), body))
            raw.execute("COMMIT")

        db = open_database(Path(tmp) / "till.db")

        def commit_once() -> None:
            commit_check(db, _check(str(uuid.uuid4())))

        floor_times: list[float] = []
        value_times: list[float] = []
        for _ in range(5):  # interleave so disk hiccups hit both alike
            floor_times += timings(floor_once, 60, warmup=5)
            value_times += timings(commit_once, 60, warmup=5)
        raw.close()
        db.close()
    return ratio_result(
        "outbox_commit",
        median(value_times),
        median(floor_times),
        "s",
        "median ratio <= 2 to one raw INSERT+COMMIT (synchronous=FULL)",
        2.0,
        {"p99_s": percentile(value_times, 99)},
    )


MEMBERS = 1_000_000


def _phone(n: int) -> str:
    return f"+7916{n:07d}"


def bench_offline_identify_1m() -> Result:
    """Offline identify by E.164 phone among 1M cached members vs a raw PK lookup."""
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        path = Path(tmp) / "till.db"
        db = open_database(path)
        balance_at = NOW.isoformat()
        db.conn.execute("BEGIN")
        db.conn.executemany(
            "INSERT INTO members (member_id, phone, state, available, balance_at, payload,"
            " refreshed_at) VALUES (?, ?, 'active', '100.00', ?, '{}', ?)",
            ((f"M{n:07d}", _phone(n), balance_at, balance_at) for n in range(MEMBERS)),
        )
        db.conn.execute("COMMIT")
        cache = MemberCache(db)
        keys = [n * 7919 % MEMBERS for n in range(2000)]
        state = {"i": 0}

        def nxt() -> int:
            state["i"] = (state["i"] + 1) % len(keys)
            return keys[state["i"]]

        def floor_once() -> None:
            db.conn.execute(
                "SELECT * FROM members WHERE member_id = ?", (f"M{nxt():07d}",)
            ).fetchone()

        def value_once() -> None:
            assert cache.by_phone(_phone(nxt())) is not None

        def typed_once() -> None:
            n = nxt()
            text = f"8 916 {n // 10000:03d}-{n // 100 % 100:02d}-{n % 100:02d}"
            assert identify_offline(db, text, "RU", NOW + timedelta(hours=1)) is not None

        normalize_phone("8 916 000-00-01", "RU")
        floor_t: list[float] = []
        value_t: list[float] = []
        for _ in range(5):
            floor_t += timings(floor_once, 400)
            value_t += timings(value_once, 400)
        typed_t = timings(typed_once, 2000)
        db.close()
    return ratio_result(
        "offline_identify_1m",
        median(value_t),
        median(floor_t),
        "s",
        "median ratio <= 3 to a raw PK lookup; typed phone to member p99 <= 1 ms",
        3.0,
        {
            "typed_p99_s": percentile(typed_t, 99),
            "typed_median_s": median(typed_t),
            "typed_ok": percentile(typed_t, 99) <= 0.001,
        },
    )


DRAIN = int(os.environ.get("TILL_BENCH_DRAIN", "10000"))


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_sync_drain_10k() -> Result:
    """10 000 queued offline checks drained to the reference server on loopback."""
    # Imported here so the other figures do not pay for the server framework.
    from offline_cache.link import ProcessingTransport
    from offline_cache.sync import SyncEngine
    from processing.client import ProcessingClient
    from processing.server.testing import running_server

    with tempfile.TemporaryDirectory(dir=".") as tmp:
        till = Path(tmp) / "till.db"
        db = open_database(till)
        with write_transaction(db):
            for _ in range(DRAIN):
                commit_check(db, _check(str(uuid.uuid4())))
        db.close()
        with (
            running_server(Path(tmp) / "server.db") as server,
            ProcessingClient(server.url, server.api_key) as client,
        ):
            engine = SyncEngine(till, ProcessingTransport(client), batch_size=200)
            before = _max_rss_mb()
            start = time.perf_counter()
            report = engine.drain()
            elapsed = time.perf_counter() - start
            growth = _max_rss_mb() - before
    rate = report.acknowledged / elapsed
    ok = report.acknowledged == DRAIN and rate >= 500 and growth <= 50
    return Result(
        "sync_drain_10k",
        rate,
        "checks/s",
        None,
        None,
        ">= 500 checks/s with peak memory growth <= 50 MB",
        ok,
        {
            "seconds": elapsed,
            "peak_rss_growth_mb": growth,
            "dead": len(report.dead),
            "error": report.error,
        },
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {
    "sync_drain_10k": bench_sync_drain_10k,
    "outbox_commit": bench_outbox_commit,
    "offline_identify_1m": bench_offline_identify_1m,
}
