"""The server's group commit (processing.server.writes): the event loop never waits on fsync."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlite_utils import Database

from processing.server.storage import Storage
from processing.server.testing import RunningServer


def _commit_threads(storage: Storage, writes: int) -> tuple[int, list[int]]:
    """Run ``writes`` concurrent writes through ``storage.run``; the loop's thread and the
    threads each COMMIT ran on."""
    commits: list[int] = []
    loop_thread: list[int] = []
    traced: set[int] = set()

    def put(value: str) -> Callable[[Database], str]:
        def fn(db: Database) -> str:
            if id(db.conn) not in traced:
                traced.add(id(db.conn))
                db.conn.set_trace_callback(
                    lambda sql: commits.append(threading.get_ident()) if sql == "COMMIT" else None
                )
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [value, value])
            return value

        return fn

    async def main() -> list[str]:
        loop_thread.append(threading.get_ident())
        return list(await asyncio.gather(*(storage.run(put(f"w{i}")) for i in range(writes))))

    assert asyncio.run(main()) == [f"w{i}" for i in range(writes)]
    return loop_thread[0], commits


def test_with_nothing_else_to_serve_the_commit_is_made_on_the_loop(tmp_path: Path) -> None:
    """The hand-off to the locker thread costs more CPU than the write; with no other request
    in flight nobody waits for the loop, so the COMMIT is made there."""
    storage = Storage(tmp_path / "p.db")
    groups: list[int] = []

    def nobody_else(group: int) -> bool:
        groups.append(group)
        return False

    storage.set_others_waiting(nobody_else)
    try:
        loop_thread, commits = _commit_threads(storage, 3)
        assert commits and set(commits) == {loop_thread}
        assert sum(groups) == 3  # asked once per group, with the group's size
        with storage.read() as db:
            assert (
                db.execute("SELECT COUNT(*) FROM settings WHERE key LIKE 'w%'").fetchone()[0] == 3
            )
    finally:
        storage.close()


def test_with_other_requests_in_flight_the_commit_goes_to_the_locker(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "p.db")
    storage.set_others_waiting(lambda group: True)
    try:
        loop_thread, commits = _commit_threads(storage, 3)
        assert commits and loop_thread not in commits
    finally:
        storage.close()


def test_commit_runs_off_the_event_loop_and_answers_after_it(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "p.db")
    commits: list[int] = []
    loop_thread: list[int] = []
    traced: set[int] = set()

    def trace(conn: sqlite3.Connection) -> None:
        if id(conn) not in traced:
            traced.add(id(conn))
            conn.set_trace_callback(
                lambda sql: commits.append(threading.get_ident()) if sql == "COMMIT" else None
            )

    def put(value: str) -> Callable[[Database], str]:
        def fn(db: Database) -> str:
            trace(db.conn)
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [value, value])
            return value

        return fn

    async def main() -> list[str]:
        loop_thread.append(threading.get_ident())
        return list(await asyncio.gather(*(storage.run(put(f"k{i}")) for i in range(5))))

    try:
        assert asyncio.run(main()) == [f"k{i}" for i in range(5)]
        with storage.read() as db:
            stored = db.execute("SELECT COUNT(*) FROM settings WHERE key LIKE 'k%'").fetchone()
        assert stored[0] == 5  # every answered write is there
        assert commits  # the transactions did commit …
        assert loop_thread[0] not in commits  # … and never on the event loop's thread
    finally:
        storage.close()


def test_the_server_counts_its_requests_in_flight_back_to_zero(server: RunningServer) -> None:
    """Refused, invalid and good requests alike leave the count as they found it (a count
    left high would send every COMMIT to the locker, one left low would block the loop)."""
    auth = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.url) as client:
        assert client.post("/v1/identify", json={}).status_code == 401
        assert client.post("/v1/identify", json={"kind": "x"}, headers=auth).status_code == 422
        found = client.post(
            "/v1/identify",
            json={"kind": "auto", "value": "+79161234567", "entry": "typed"},
            headers=auth,
        )
        assert found.status_code == 200
        assert client.get("/v1/health").status_code == 200
    assert server.ctx.in_flight == 0


def _put(key: str) -> Callable[[Database], str]:
    def fn(db: Database) -> str:
        db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [key, key])
        return key

    return fn


def _has(key: str) -> Callable[[Database], tuple[bool, sqlite3.Connection]]:
    def fn(db: Database) -> tuple[bool, sqlite3.Connection]:
        found = db.execute("SELECT 1 FROM settings WHERE key = ?", [key]).fetchone()
        return found is not None, db.conn

    return fn


def test_a_read_on_the_loop_shares_the_idle_write_connection(tmp_path: Path) -> None:
    """Between writes, a read on the event loop's thread is made on the loop's own write
    connection, whose page cache SQLite keeps across its own writes (a connection of the read's
    own would start cold after each of them); a read on another thread keeps its own."""
    storage = Storage(tmp_path / "p.db")
    storage.set_others_waiting(lambda group: False)

    async def main() -> tuple[sqlite3.Connection, tuple[bool, sqlite3.Connection], bool]:
        await storage.run(_put("a"))
        writer = storage._group._inline
        assert writer is not None
        on_loop = await storage.reading(_has("a"))
        elsewhere = await asyncio.to_thread(asyncio.run, storage.reading(_has("a")))
        return writer.conn, on_loop, elsewhere[1] is writer.conn

    try:
        writer, (found, used), other_thread_shared = asyncio.run(main())
        assert found and used is writer
        assert not other_thread_shared
        assert not writer.in_transaction  # the read's snapshot was closed behind it
    finally:
        storage.close()


def test_a_read_while_a_commit_is_pending_does_not_see_the_uncommitted_write(
    tmp_path: Path,
) -> None:
    """While a group's COMMIT waits on the locker thread, the write connection is in the
    middle of a transaction: a read on the loop must take its own connection and see what is
    committed, not the write in flight (nor fail on a BEGIN inside that transaction)."""
    storage = Storage(tmp_path / "p.db")
    storage.set_others_waiting(lambda group: True)  # COMMITs go to the locker thread
    release = threading.Event()

    async def main() -> tuple[bool, bool, bool]:
        await storage.run(_put("before"))  # the write connection exists
        writer = storage._group._inline
        assert writer is not None
        # Keep the one locker thread busy, so the next COMMIT waits in its queue.
        blocked = storage._group._locker.submit(release.wait, 10)
        pending = asyncio.ensure_future(storage.run(_put("pending")))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if writer.conn.in_transaction:
                break
        assert writer.conn.in_transaction  # the write is applied, its COMMIT not yet made
        during, conn = await storage.reading(_has("pending"))
        before, _ = await storage.reading(_has("before"))
        shared = conn is writer.conn
        release.set()
        blocked.result(10)
        assert await pending == "pending"
        after, _ = await storage.reading(_has("pending"))
        return during or shared, before, after

    try:
        saw_uncommitted, before, after = asyncio.run(main())
        assert not saw_uncommitted
        assert before and after
    finally:
        release.set()
        storage.close()
