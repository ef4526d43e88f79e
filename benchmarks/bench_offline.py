"""Offline-cache figures: committing a check, offline identify in 1M members, draining 10k.

Every file is made with :func:`benchmarks.result.scratch`, on the disk the till's data lives
on. Floors are measured in the same run on the same disk: a raw sqlite3 INSERT+COMMIT with
synchronous=FULL; digits plus a raw indexed lookup in the same 1M-member file; draining has
no floor (checks/s and memory growth against absolute targets).
"""

from __future__ import annotations

import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlite_utils import Database

from benchmarks.result import (
    ROOT,
    Result,
    interleaved,
    median,
    p50_p99,
    percentile,
    ratio_result,
    scratch,
)
from offline_cache.checks import CheckRecord, commit_check
from offline_cache.clock import to_text
from offline_cache.db import open_database
from offline_cache.txn import canonical_json, write_transaction
from terminal.offline_rules import identify_cached

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def offline_check(
    check_id: str, member_id: str = "100001", spend: int = 0, made_at: datetime = NOW
) -> CheckRecord:
    """An offline check of two lines (612.40) with ``spend`` points paid offline."""
    lines = [
        {"name": "bread", "price": "50.00", "quantity": "1", "amount": "50.00"},
        {"name": "coffee", "price": "281.20", "quantity": "2", "amount": "562.40"},
    ]
    payload = {
        "check_id": check_id,
        "member_id": member_id,
        "lines": lines,
        "spent_offline": f"{spend}",
        "provisional_earn": "18.37",
        "made_at": made_at.isoformat(),
    }
    return CheckRecord(
        check_id,
        member_id,
        Decimal("612.40"),
        Decimal("18.37"),
        Decimal(spend),
        True,
        payload,
    )


def bench_outbox_commit() -> Result:
    """Median seconds to commit a check durably on the till, against a raw INSERT+COMMIT.

    Value: ``commit_check`` of a two-line offline check: the check, its outbox record and its
    audit line written in one transaction of the till's database (WAL, synchronous=FULL), what a
    sale does before anything is printed. Floor: one row of 300 bytes inserted and committed by
    bare sqlite3 with the same journal and synchronous settings, in a file on the same disk:
    the least a durable commit costs there, which is most of the value (the fsync). What the
    till adds is its three rows, their indexes and its canonical JSON. Value and floor
    alternate commit by commit (``interleaved``), so a slow moment of the disk falls on both
    alike. They used to run in blocks of 60 each, and a CI first attempt read 2.01 where its
    retries read 1.42-1.73; what slowed it was not found (straight after ``sync_drain_10k``,
    as in CI, three runs read 1.36-1.55 in blocks and 1.39-1.48 alternated, 2026-12-07).
    Target: median ratio <= 2."""
    with scratch() as tmp:
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
            commit_check(db, offline_check(str(uuid.uuid4())))

        value_times, floor_times = interleaved(commit_once, floor_once, 300, warmup=10)
        raw.close()
        db.close()
    return ratio_result(
        "outbox_commit",
        median(value_times),
        median(floor_times),
        "s",
        "median ratio <= 2 to one raw INSERT+COMMIT (synchronous=FULL)",
        2.0,
        {
            **p50_p99(value_times, scale=1, digits=7),
            "floor_p50": round(median(floor_times), 7),
            "floor_p99": round(percentile(floor_times, 99), 7),
        },
    )


MEMBERS = 1_000_000
PENDING = 300
"""Offline checks waiting in the outbox while identifying (what a till has after a while
offline): the pending-spend sum identify does walks real rows."""
FIRST_NAMES = ("Анна", "Иван", "Айгерим", "Олександр", "Марина", "Серик", "Ольга", "Дмитро")


def _phone(n: int) -> str:
    return f"+7916{n:07d}"


def _typed(n: int) -> str:
    """How a cashier types member ``n``'s phone: national prefix, spaces and dashes."""
    return f"8 916 {n // 10000:03d}-{n // 100 % 100:02d}-{n % 100:02d}"


def fill_member_cache(db: Database, count: int = MEMBERS) -> None:
    """``count`` members as the member delta stores them (``offline_cache.refresh``): the
    masked phone, name, lifetime spend and birthday in the payload, a balance with its time."""
    balance_at = to_text(NOW)
    db.conn.execute("BEGIN")
    db.conn.executemany(
        "INSERT INTO members (member_id, phone, state, available, balance_at, payload,"
        " seen_here, refreshed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                f"{100000 + n}",
                _phone(n),
                "active" if n % 31 else "earn_only",
                f"{n * 37 % 300000 / 100:.2f}",
                balance_at,
                canonical_json(
                    {
                        "phone_masked": f"+7 *** ***-{n // 100 % 100:02d}-{n % 100:02d}",
                        "name": f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {chr(0x410 + n % 32)}.",
                        "lifetime_spend": f"{n * 7919 % 8000000 / 100:.2f}",
                        "birthday": f"19{60 + n % 40}-{1 + n % 12:02d}-{1 + n % 28:02d}",
                    }
                ),
                n % 5 == 0,
                balance_at,
            )
            for n in range(count)
        ),
    )
    db.conn.execute("COMMIT")


def bench_offline_identify_1m() -> Result:
    """Offline identify from typed text among 1M cached members, against a raw indexed lookup.

    Value: the till's own offline path (``terminal.offline_rules.identify_cached``, what
    ``Services`` calls when the server is unreachable) from the text a cashier typed
    ("8 916 123-45-67"): classification and normalisation to E.164, the cached row with a
    realistic payload (masked phone, name, lifetime spend, birthday) decoded, the pending
    offline spends of that member summed over an outbox holding 300 waiting checks, and the
    screen's member view. Floor: the least any offline identify does — the digits of the same
    text taken with one regular expression and one raw indexed ``SELECT`` of the same row on the
    same connection. Value and floor interleave call by call over 4 000 members spread over
    the file; each member is met once, so its pages are warm in the OS cache (the file was just
    written) but not in SQLite's, as for a customer at a real till. Measured here: ratio
    3.4-3.5 (the value runs three queries, decodes the payload and builds the view; it was
    4.6-6.7 while every typed number went through ``phonenumbers.parse``). Target: median
    ratio <= 5.5, which a 2x slower identify (>= 6.8) misses, and the typed p99 <= 1 ms.
    That p99 (``typed_p99``) is wall time as the cashier waits it, disk and lock waits
    included, over the calls no other process preempted (``ru_nivcsw`` of this thread
    unchanged across the call): on this shared 2-core box a neighbour taking the core for a
    time slice lands in the plain p99 (``p99``: 0.2-0.5 ms calm, 3.9-5.5 ms at load 5), which
    then measures the neighbours. How many calls were preempted is reported
    (``preempted_calls``), and ``cpu_p99`` (thread CPU time) beside it.
    """
    with scratch() as tmp:
        path = Path(tmp) / "till.db"
        db = open_database(path)
        fill_member_cache(db)
        with write_transaction(db):
            for i in range(PENDING):
                n = i * 3331 % MEMBERS
                commit_check(
                    db, offline_check(str(uuid.uuid4()), f"{100000 + n}", spend=i % 4 * 10)
                )
        # A till's cache was filled long before the customer arrives: checkpointed, not in WAL.
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        keys = [n * 7919 % MEMBERS for n in range(4000)]
        texts = [_typed(n) for n in keys]
        state = {"v": 0, "f": 0}
        digits = re.compile(r"\D")
        now = NOW + timedelta(hours=1)

        def floor_once() -> None:
            text = texts[state["f"]]
            state["f"] = (state["f"] + 1) % len(texts)
            phone = "+7" + digits.sub("", text)[-10:]
            row = db.conn.execute("SELECT * FROM members WHERE phone = ?", (phone,)).fetchone()
            assert row is not None

        cpu: list[float] = []
        preempted: list[bool] = []

        def value_once() -> None:
            text = texts[state["v"]]
            state["v"] = (state["v"] + 1) % len(texts)
            switches = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
            start = time.thread_time()
            assert identify_cached(db, text, "RU", now, "typed").member_id
            cpu.append(time.thread_time() - start)
            preempted.append(resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw != switches)

        value, floor = interleaved(value_once, floor_once, len(texts), warmup=20)
        db.close()
    flags = preempted[-len(value) :]
    unpreempted = [t for t, was in zip(value, flags, strict=True) if not was]
    typed_p99_ms = percentile(unpreempted, 99) * 1000
    return ratio_result(
        "offline_identify_1m",
        median(value) * 1000,
        median(floor) * 1000,
        "ms",
        "median ratio <= 5.5 to digits + one raw indexed SELECT; typed phone to member p99"
        " <= 1 ms (wall, over the calls no other process preempted)",
        5.5,
        {
            **p50_p99(value),
            "floor_p50": round(median(floor) * 1000, 4),
            "floor_p99": round(percentile(floor, 99) * 1000, 4),
            "typed_p99": round(typed_p99_ms, 4),
            "typed_p99_ok": typed_p99_ms <= 1.0,
            "preempted_calls": sum(flags),
            "cpu_p99": round(percentile(cpu[-len(texts) :], 99) * 1000, 4),
        },
        also={"typed p99 ms": (typed_p99_ms, 1.0)},
    )


DRAIN = int(os.environ.get("TILL_BENCH_DRAIN", "10000"))
DRAIN_MEMBERS = 2000


def _active_members(server_db: Path) -> list[tuple[str, int]]:
    """(member id, available points) of the server's active generated members."""
    conn = sqlite3.connect(server_db)
    try:
        rows = conn.execute(
            "SELECT m.id, COALESCE(SUM(l.remaining), 0) FROM members m"
            " LEFT JOIN lots l ON l.member_id = m.id WHERE m.state = 'active'"
            " AND m.phone LIKE '+7900%' GROUP BY m.id ORDER BY m.id"
        ).fetchall()
    finally:
        conn.close()
    return [(str(r[0]), int(r[1]) // 100) for r in rows]


def bench_sync_drain_10k() -> Result:
    """10 000 offline checks drained to the reference server on loopback, from a fresh process.

    Value: checks/s of ``SyncEngine.drain`` as the till builds it (its default batch size),
    in a fresh process (``benchmarks.drain_child``) talking to the server in another one
    (``till processing serve``, one worker) over loopback. The checks belong to 1 900-odd
    active members, a few each, like a day of offline sales in a store; one in three spent
    points offline (10-60), the others only earn, and a few spends exceed what the server
    still has for the member (recorded as conflicts, never dropped). The till's provisional
    earn (18.37) is not what the server computes for most members, so nearly every check also
    writes an earn-difference conflict row: a heavier drain than a real one, never a lighter
    one. Memory: the drain
    process's resident set sampled every 2 ms, its peak during the drain less its size just
    before. No floor: draining is the server applying checks; the target is absolute.
    Target: every check acknowledged, none dead, >= 500 checks/s, memory growth <= 50 MB.
    Measured here: 540-665 checks/s on calmer moments, 400-430 with the load average at 6
    (the drain and the server share 2 cores with other builds); the till's and the server's
    CPU per check are reported, as they tell a slower drain from a busier box. At 400/s the
    two processes spend ~0.9 ms of CPU per check of the ~2.3 ms each takes: the rest is
    waiting (commits reaching the disk, which the other builds share), not computing.
    """
    from benchmarks.procstat import cpu_seconds, server_processes
    from processing.server.testing import running_server, server_process

    with scratch() as tmp:
        server_db = Path(tmp) / "server.db"
        with running_server(server_db, members=DRAIN_MEMBERS) as seeded:
            key = seeded.api_key
        members = _active_members(server_db)
        till = Path(tmp) / "till.db"
        db = open_database(till)
        spends = 0
        made_at = datetime.now(UTC) - timedelta(hours=2)  # this morning, while offline
        with write_transaction(db):
            for i in range(DRAIN):
                member_id, available = members[i * 7 % len(members)]
                spend = 10 + i % 51 if i % 3 == 0 and available >= 10 else 0
                spends += spend > 0
                commit_check(db, offline_check(str(uuid.uuid4()), member_id, spend, made_at))
        db.close()
        with server_process(server_db) as url:
            server_pids = server_processes()
            server_cpu = cpu_seconds(server_pids)
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.drain_child", str(till), url, key],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=600,
                check=False,
            )
            server_cpu = cpu_seconds(server_pids) - server_cpu
    if child.returncode != 0:
        raise RuntimeError(f"the drain process failed: {child.stderr.strip()[-500:]}")
    got = json.loads(child.stdout.strip().splitlines()[-1])
    rate = got["acknowledged"] / got["seconds"]
    growth = got["rss_peak_mb"] - got["rss_before_mb"]
    complete = got["acknowledged"] == DRAIN and got["dead"] == 0 and got["error"] is None
    score = max(500 / rate if rate else float("inf"), growth / 50)
    return Result(
        "sync_drain_10k",
        rate,
        "checks/s",
        None,
        None,
        ">= 500 checks/s (default batch size, many members, mixed offline spends), every check"
        " acknowledged, drain memory growth <= 50 MB in a fresh process",
        complete and score <= 1,
        {
            "seconds": round(got["seconds"], 3),
            "batch_size": got["batch_size"],
            "members": len({members[i * 7 % len(members)][0] for i in range(DRAIN)}),
            "checks_with_offline_spend": spends,
            "conflicts": got["conflicts"],
            "dead": got["dead"],
            "first_dead": got["first_dead"],
            "error": got["error"],
            "rss_before_mb": round(got["rss_before_mb"], 1),
            "rss_growth_mb": round(growth, 1),
            # CPU per check tells a slower drain from a busier box: it barely moves with load.
            "till_cpu_ms_per_check": round(got["cpu_seconds"] / DRAIN * 1000, 3),
            "server_cpu_ms_per_check": round(server_cpu / DRAIN * 1000, 3),
        },
        score,
        broken=not complete,
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {
    "sync_drain_10k": bench_sync_drain_10k,
    "outbox_commit": bench_outbox_commit,
    "offline_identify_1m": bench_offline_identify_1m,
}
