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

import os
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import AbstractContextManager, closing
from pathlib import Path

from offline_cache.db import open_database
from offline_cache.link import ProcessingTransport
from offline_cache.sync import SyncEngine
from processing.client import ProcessingClient
from processing.server.testing import running_server
from tests.faultproxy import FaultProxy, Message
from tests.support.exactly_once import (
    SETTINGS,
    Expected,
    Figures,
    assert_exactly_once,
    batch_keys,
    commit,
    each_fault_then_healing,
    figures,
    sqlite_rows,
    unsent,
)
from tests.support.nodes import node

ROOT = Path(__file__).resolve().parent.parent


def test_each_network_fault_then_healing_applies_every_check_exactly_once(
    tmp_path: Path,
) -> None:
    server_db = tmp_path / "server.db"
    with (
        running_server(server_db) as server,
        ProcessingClient(server.url, server.api_key) as oracle,
        FaultProxy(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as proxy,
    ):
        each_fault_then_healing(
            sqlite_rows(server_db), oracle, server.api_key, proxy, tmp_path / "till.db"
        )


# --------------------------------------------------------------------- server killed


def _server_process(
    db_path: Path, name: str
) -> AbstractContextManager[tuple[subprocess.Popen[bytes], str]]:
    """``serve`` on ``db_path`` in its own process: the process (to kill) and its URL."""
    return node(str(db_path), db_path.parent, name)


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
        keys = sorted(batch_keys(request))
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
            with _server_process(server_db, "killed") as (process, url):
                proxy.upstream = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
                with ProcessingClient(url, api_key) as oracle:
                    before = before or figures(oracle)
                    committed += commit(db, oracle, KILL_BATCH, len(committed))
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
            assert unsent(db) == {c.check_id for c in committed[-KILL_BATCH:]}
            with _server_process(server_db, "restarted") as (_, url):
                # Restarted on the same database.
                proxy.upstream = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
                healed = engine.drain()
                assert healed.ok and healed.acknowledged == KILL_BATCH, healed
                with ProcessingClient(url, api_key) as oracle:
                    assert before is not None
                    assert_exactly_once(
                        sqlite_rows(server_db), db, committed, before, figures(oracle)
                    )
        assert proxy.hook_errors == []
        # At least one kill landed in the middle of applying a batch.
        assert {"in_transaction", "partial"} & set(kills), kills
