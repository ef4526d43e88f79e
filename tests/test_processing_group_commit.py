"""The server's group commit (processing.server.writes): the event loop never waits on fsync."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from processing.server.storage import Storage


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
