"""The SQLite engine of the server's storage: one file through sqlite-utils, opened and
migrated here (the default, and the demo's). The seam both engines implement is
:mod:`processing.server.engine`; PostgreSQL is :mod:`processing.server.pg`; the schema is
migrated by Alembic for both (:mod:`processing.server.migrate`). Amounts are integer
hundredths (minor units); times are integer Unix seconds (UTC); the calendar of a store is
its ``stores.timezone`` (:mod:`processing.server.zones`).

Concurrency: each thread gets its own connection (WAL: readers never block the writer);
every write transaction starts with ``BEGIN IMMEDIATE``, so two writers are serialised
before they read what they will change — two tills spending one balance cannot both win.
Several server processes may share one file (``serve --workers N``): BEGIN IMMEDIATE is what
serialises them; before it, a writer waits on an advisory lock file next to the database
(``flock``), so writers of different processes hand over to each other at once instead of
polling through SQLite's busy handler (sleeps of up to 100 ms). That write lock and group
commit live in :mod:`processing.server.writes`.

Raises :class:`StorageError` when the file cannot be opened or migrated.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from processing.server import engine
from processing.server.migrate import MigrationError, migrate_sqlite
from processing.server.write_lock import WriteLock
from processing.server.writes import GroupCommit


class StorageError(Exception):
    """The server database cannot be opened, migrated or written."""


T = TypeVar("T")


class Storage:
    """The server database: per-thread connections, migrations, serialised write transactions."""

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        if synchronous not in {"FULL", "NORMAL"}:
            raise ValueError("synchronous must be FULL or NORMAL")
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = WriteLock(self.path)
        self._group = GroupCommit(self._write_lock, self.db, self._connect)
        try:
            _make_private(self.path)
            db = self.db()
            with db.ensure_autocommit_on():
                db.execute("PRAGMA journal_mode=WAL")
            migrate_sqlite(db.conn, self.path)
        except MigrationError as exc:
            raise StorageError(str(exc)) from None
        except Exception as exc:  # sqlite3, OS and Alembic errors alike: one sentence
            raise StorageError(f"Cannot open the processing database {self.path}: {exc}") from exc

    engine = "sqlite"

    @property
    def target(self) -> str:
        return str(self.path)

    @property
    def location(self) -> str:
        return str(self.path)

    def health(self) -> str:
        """ "ok" when a statement runs on this thread's connection."""
        try:
            self.db().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            return f"The database cannot be read: {exc}"
        return "ok"

    def db(self) -> Database:
        """This thread's connection (opened on first use)."""
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def _connect(self) -> Database:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        # Autocommit at the driver level: transactions are opened explicitly below.
        conn.isolation_level = None
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        with self._all_lock:
            self._all.append(conn)
        return Database(conn, execute_plugins=False)

    @contextmanager
    def write(self) -> Iterator[Database]:
        """A write transaction started with BEGIN IMMEDIATE; commits, or rolls back on error."""
        db = self.db()
        # Writers queue on the write lock (see processing.server.writes) before BEGIN
        # IMMEDIATE, which is still what excludes every other writer.
        with self._write_lock.held(), engine.collecting_commit_actions() as actions:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            else:
                db.conn.execute("COMMIT")
        engine.run_commit_actions(actions)

    def submit(self, fn: Callable[[Database], T]) -> Future[T]:
        """Run ``fn(db)`` in a write transaction on the committer thread (group commit: see
        :meth:`GroupCommit.submit <processing.server.writes.GroupCommit.submit>`)."""
        return self._group.submit(fn)

    def set_others_waiting(self, probe: Callable[[int], bool]) -> None:
        """Tell the group commit whether the loop has requests besides a group's own (``probe(
        writes in the group)``): when it has none, the group's COMMIT is made on the loop's
        thread (see :meth:`GroupCommit._run_inline`)."""
        self._group.others_waiting = probe

    def start_committer(self) -> None:
        """Start the committer thread with its connection open (idempotent; :meth:`submit`
        starts it too, a server starts it before it listens)."""
        self._group.start_committer()

    async def run(self, fn: Callable[[Database], T]) -> T:
        """Run ``fn(db)`` in a write transaction on the calling event loop's own thread, shared
        with the writes queued on this loop meanwhile (group commit: see
        :meth:`GroupCommit.run <processing.server.writes.GroupCommit.run>`)."""
        return await self._group.run(fn)

    def read(self) -> AbstractContextManager[Database]:
        """A consistent read snapshot (a deferred transaction: several SELECTs see one state)."""
        return _snapshot(self.db())

    async def reading(self, fn: Callable[[Database], T], *, snapshot: bool = True) -> T:
        """``fn(db)`` in a read snapshot (``snapshot`` False: on this thread's connection in
        autocommit), on the calling thread: SQLite reads of a local file take microseconds,
        less than a hand-off to another thread would.

        On the event loop's thread the snapshot is taken on the loop's own write connection
        while it has no write in progress (:meth:`GroupCommit.idle_inline
        <processing.server.writes.GroupCommit.idle_inline>`), whose page cache survives the
        writes made on it (most of this process's). Only here: ``fn`` runs to its end before
        the loop can start a write, which a ``with read()`` block spanning an ``await`` would
        not promise."""
        if not snapshot:
            return fn(self.db())
        with _snapshot(self._group.idle_inline() or self.db()) as db:
            return fn(db)

    def close(self) -> None:
        """Stop the committer (after the writes already queued) and close every connection."""
        self._group.close()
        with self._all_lock:
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
        self._write_lock.close()


@contextmanager
def _snapshot(db: Database) -> Iterator[Database]:
    db.conn.execute("BEGIN")
    try:
        yield db
    finally:
        db.conn.execute("ROLLBACK")


def _make_private(path: Path) -> None:
    """Create the database file readable by its owner only (it holds the QR signing key, SMS
    codes and members' personal data), and tighten an older one. SQLite gives the -wal and
    -shm files the database file's mode, so they follow.

    The file is created here only when it does not exist yet, so no SQLite connection of this
    process can have it open: closing a descriptor of an open database would drop the
    process's POSIX locks on it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        with suppress(FileNotFoundError, PermissionError):  # another owner's: leave it be
            os.chmod(path.with_name(name), 0o600)


def next_seq(db: engine.Database, name: str) -> int:
    """The next value of counter ``name`` (call inside a write transaction)."""
    row = db.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1) "
        "ON CONFLICT(name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        [name],
    ).fetchone()
    return int(row[0])


def get_setting(db: engine.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_setting(db: engine.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
