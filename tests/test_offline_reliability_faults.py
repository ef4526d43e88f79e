"""Network faults between the till and the server: exactly once after healing.

The real till parts (the ``offline_cache`` outbox, ``SyncEngine``, ``ProcessingTransport`` over
``ProcessingClient``) drain offline checks (earn, some with offline spend) to the real server
through ``tests.faultproxy``. Each fault is switched on after one batch has passed and hit by
two drains; the drain must fail transiently, and where the fault forwarded the request the
server must have applied what the till still holds unsent — the case exactly-once is about.
Then the proxy heals and a drain delivers the rest. Separately the server process is killed
(SIGKILL) in the middle of a batch and restarted on the same database.

After every healing drain the server's ledger holds exactly the checks the till committed,
each with the earn the server's own calculation gives and the spend the till decided, once;
member balances move by exactly those sums; the till has nothing unsent, dead or conflicting.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlite_utils import Database

from offline_cache.checks import CheckRecord, commit_check
from offline_cache.db import open_database
from offline_cache.link import ProcessingTransport
from offline_cache.outbox import verify_chain
from offline_cache.sync import SyncEngine
from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.server.testing import running_server
from tests.faultproxy import FORWARDING_FAULTS, Fault, FaultProxy, Message

ROOT = Path(__file__).resolve().parent.parent
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


def _cents(points: Decimal) -> int:
    return int(points * 100)


def _commit(db: Database, oracle: ProcessingClient, n: int, start: int) -> list[Expected]:
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
        made.append(Expected(check_id, member, _cents(calc.earn), _cents(spend)))
    return made


def _figures(client: ProcessingClient) -> dict[str, Figures]:
    out = {}
    for member in MEMBERS:
        found = client.identify(PHONES[member])
        assert found.member.id == member
        balance = found.balance
        out[member] = Figures(balance.available, balance.frozen_total)
    return out


def _server_ids(server_db: Path) -> set[str]:
    with closing(sqlite3.connect(server_db, timeout=10)) as ledger:
        return {row[0] for row in ledger.execute("SELECT id FROM checks")}


def _unsent(db: Database) -> set[str]:
    rows = db.execute("SELECT id FROM outbox WHERE state IN ('pending', 'sending')")
    return {row[0] for row in rows}


def _batch_keys(request: Message | None) -> set[str]:
    if request is None or not request.path.endswith("/checks/offline/batch"):
        return set()
    return {item["idempotency_key"] for item in json.loads(request.body)["items"]}


def _assert_exactly_once(
    server_db: Path,
    db: Database,
    committed: list[Expected],
    before: dict[str, Figures],
    after: dict[str, Figures],
) -> None:
    """Ledger, movements, balances and the till's own state agree with ``committed``."""
    ids = [c.check_id for c in committed]
    with closing(sqlite3.connect(server_db, timeout=10)) as ledger:
        on_server = sorted(row[0] for row in ledger.execute("SELECT id FROM checks"))
        assert on_server == sorted(ids), "the server ledger differs from what the till committed"
        moved = {
            row[0]: (row[1], row[2])
            for row in ledger.execute(
                "SELECT check_id, SUM(CASE WHEN kind = 'earn' THEN points ELSE 0 END),"
                " -SUM(CASE WHEN kind = 'spend' THEN points ELSE 0 END)"
                " FROM movements WHERE check_id IS NOT NULL GROUP BY check_id"
            )
        }
        columns = {
            row[0]: (row[1], row[2]) for row in ledger.execute("SELECT id, earn, spend FROM checks")
        }
    for c in committed:
        assert moved.get(c.check_id, (0, 0)) == (c.earn, c.spend), f"points moved for {c}"
        assert columns[c.check_id] == (c.earn, c.spend), f"the server's figures for {c}"
    for member in MEMBERS:
        earned = sum(c.earn for c in committed if c.member_id == member)
        spent = sum(c.spend for c in committed if c.member_id == member)
        was, now = before[member], after[member]
        assert _cents(now.available) == _cents(was.available) - spent, f"{member} available"
        assert _cents(now.frozen) == _cents(was.frozen) + earned, f"{member} frozen (earned)"
    assert _unsent(db) == set()
    assert db.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM conflicts").fetchone()[0] == 0
    assert verify_chain(db) == len(ids)


def test_each_network_fault_then_healing_applies_every_check_exactly_once(
    tmp_path: Path,
) -> None:
    server_db = tmp_path / "server.db"
    till_db = tmp_path / "till.db"
    committed: list[Expected] = []
    with (
        running_server(server_db) as server,
        ProcessingClient(server.url, server.api_key) as oracle,
        FaultProxy(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as proxy,
        ProcessingClient(proxy.url, server.api_key, SETTINGS) as client,
        closing(open_database(till_db)) as db,
    ):
        before = _figures(oracle)
        engine = SyncEngine(till_db, ProcessingTransport(client), batch_size=BATCH)
        for fault in FAULTS:
            batch = _commit(db, oracle, PER_FAULT, len(committed))
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
            hit = set().union(*(_batch_keys(i.request) for i in proxy.injected[seen:]))
            unsent = _unsent(db)
            on_server = _server_ids(server_db)
            assert unsent == {c.check_id for c in batch[BATCH:]}, fault
            if fault in FORWARDING_FAULTS:
                # The server applied the batch; the till was told nothing and holds it unsent.
                assert hit and hit <= on_server and hit <= unsent, fault
            else:
                assert not hit & on_server, f"{fault}: the server saw a request it never got"
            proxy.heal()
            healed = engine.drain()
            assert healed.ok and healed.acknowledged == len(unsent), (fault, healed)
            _assert_exactly_once(server_db, db, committed, before, _figures(oracle))
        assert proxy.hook_errors == []
        assert len(committed) == len(FAULTS) * PER_FAULT


# --------------------------------------------------------------------- server killed


@contextmanager
def _server_process(db_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``python -m processing.server serve`` on a free port; yields the process and port.

    Always reaped on exit (it may already have been killed).
    """
    port_file = Path(f"{db_path}.port")
    port_file.unlink(missing_ok=True)
    # The server's stderr is kept so a start-up failure says why instead of only that it failed.
    errors = Path(f"{db_path}.stderr").open("ab")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "processing.server", "serve", "--db", str(db_path)),
            *("--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file), "--demo"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = Path(f"{db_path}.stderr").read_text(errors="replace")[-2000:]
                raise RuntimeError(
                    f"The processing server process did not start (exit {process.poll()}):\n{tail}"
                )
            time.sleep(0.02)
        yield process, int(port_file.read_text())
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        errors.close()
        port_file.unlink(missing_ok=True)


class _KillMidBatch:
    """Proxy hook: SIGKILL the server while it is applying the batch just forwarded.

    The server may apply a batch in one write transaction or item by item; either way the
    hook polls the server database until the batch is under way — the server holds the write
    lock, or (taking the lock itself, so nothing more can be applied) part of the batch is
    applied — and kills the server there. ``moment`` says where the kill landed:
    ``in_transaction``, ``partial``, or ``after`` (the whole batch was applied first).
    """

    def __init__(self, server_db: Path, process: subprocess.Popen[bytes]) -> None:
        self.server_db = server_db
        self.process = process
        self.moment: str | None = None
        self._claimed = threading.Lock()

    def __call__(self, request: Message) -> None:
        keys = sorted(_batch_keys(request))
        # A client retry of the same batch may arrive while the first call is still polling.
        if not keys or not self._claimed.acquire(blocking=False):
            return
        query = f"SELECT count(*) FROM checks WHERE id IN ({','.join('?' * len(keys))})"
        with closing(sqlite3.connect(self.server_db, timeout=0, isolation_level=None)) as db:
            deadline = time.monotonic() + 15
            while self.moment is None:
                if time.monotonic() > deadline:
                    raise AssertionError("the server never started applying the batch")
                try:
                    db.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError:  # locked: the server is mid-transaction
                    self._kill("in_transaction")
                    continue
                try:
                    applied = int(db.execute(query, keys).fetchone()[0])
                    if applied:
                        self._kill("partial" if applied < len(keys) else "after")
                finally:
                    db.execute("ROLLBACK")
                time.sleep(0.0005)

    def _kill(self, moment: str) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.moment = moment


KILL_ROUNDS = 2
KILL_BATCH = 60


def test_server_killed_mid_batch_and_restarted_applies_every_check_exactly_once(
    tmp_path: Path,
) -> None:
    server_db = tmp_path / "server.db"
    till_db = tmp_path / "till.db"
    with running_server(server_db) as seeded:  # seeds the database and makes a till key
        api_key = seeded.api_key
    committed: list[Expected] = []
    kills: list[str] = []
    with (
        FaultProxy(("127.0.0.1", 1)) as proxy,
        ProcessingClient(proxy.url, api_key, SETTINGS) as client,
        closing(open_database(till_db)) as db,
    ):
        engine = SyncEngine(till_db, ProcessingTransport(client), batch_size=KILL_BATCH)
        before: dict[str, Figures] | None = None
        for _ in range(KILL_ROUNDS):
            with _server_process(server_db) as (process, port):
                proxy.upstream = ("127.0.0.1", port)
                with ProcessingClient(f"http://127.0.0.1:{port}", api_key) as oracle:
                    before = before or _figures(oracle)
                    committed += _commit(db, oracle, KILL_BATCH, len(committed))
                killer = _KillMidBatch(server_db, process)
                proxy.on_forwarded = killer
                cut = engine.drain()
                assert proxy.wait_idle(timeout=20)  # the hook has finished
                proxy.on_forwarded = None
                assert cut.error is not None and cut.acknowledged == 0, cut
                assert killer.moment is not None, proxy.hook_errors
                kills.append(killer.moment)
                down = engine.drain()  # the server is gone: the proxy cannot reach it
                assert down.error is not None and down.acknowledged == 0, down
            assert _unsent(db) == {c.check_id for c in committed[-KILL_BATCH:]}
            with _server_process(server_db) as (_, port):
                proxy.upstream = ("127.0.0.1", port)  # restarted on the same database
                healed = engine.drain()
                assert healed.ok and healed.acknowledged == KILL_BATCH, healed
                with ProcessingClient(f"http://127.0.0.1:{port}", api_key) as oracle:
                    assert before is not None
                    _assert_exactly_once(server_db, db, committed, before, _figures(oracle))
        assert proxy.hook_errors == []
        # At least one kill landed in the middle of applying a batch.
        assert {"in_transaction", "partial"} & set(kills), kills
