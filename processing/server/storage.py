"""The server's one storage module: an SQLite file through sqlite-utils, with migrations.

Everything that touches SQL lives behind :class:`Storage` (and the modules it hands a
``Database`` to), so a chain that outgrows one file can move to PostgreSQL by replacing this
layer. Amounts are integer hundredths (minor units); times are integer Unix seconds (UTC).

Concurrency: each thread gets its own connection (WAL: readers never block the writer);
every write transaction starts with ``BEGIN IMMEDIATE``, so two writers are serialised
before they read what they will change — two tills spending one balance cannot both win.
Several server processes may share one file (``serve --workers N``): BEGIN IMMEDIATE is what
serialises them; before it, a writer waits on an advisory lock file next to the database
(``flock``), so writers of different processes hand over to each other at once instead of
polling through SQLite's busy handler (sleeps of up to 100 ms).

Raises :class:`StorageError` when the file cannot be opened or migrated.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations


class StorageError(Exception):
    """The server database cannot be opened, migrated or written."""


T = TypeVar("T")

GROUP_MAX = 64
"""At most this many queued writes share one transaction (one fsync)."""

_INLINE_TRIES = 3
"""Times :meth:`Storage.run` finds the write lock taken again after waiting for it to be free,
before its group is run on a thread that holds on to the lock once it has it."""


migrations = Migrations("till-processing")

_SCHEMA_V1 = [
    """CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)""",
    """CREATE TABLE tills (
        id INTEGER PRIMARY KEY, store_id TEXT NOT NULL, till_id TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked_at INTEGER)""",
    """CREATE TABLE programs (
        version INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at INTEGER NOT NULL)""",
    """CREATE TABLE members (
        id TEXT PRIMARY KEY, phone TEXT NOT NULL UNIQUE, name TEXT, birthday TEXT, email TEXT,
        state TEXT NOT NULL DEFAULT 'active', consent INTEGER NOT NULL DEFAULT 1,
        lifetime_spend INTEGER NOT NULL DEFAULT 0, home_store TEXT,
        created_at INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0)""",
    """CREATE INDEX members_seq ON members (seq)""",
    """CREATE TABLE cards (number TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members)""",
    """CREATE INDEX cards_member ON cards (member_id)""",
    """CREATE TABLE lots (
        id INTEGER PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members,
        amount INTEGER NOT NULL, remaining INTEGER NOT NULL, active_from INTEGER NOT NULL,
        expires_at INTEGER, check_id TEXT, created_at INTEGER NOT NULL)""",
    """CREATE INDEX lots_member ON lots (member_id)""",
    """CREATE TABLE movements (
        id INTEGER PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members, kind TEXT NOT NULL,
        points INTEGER NOT NULL, lot_id INTEGER, check_id TEXT, created_at INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '')""",
    """CREATE INDEX movements_member ON movements (member_id)""",
    """CREATE INDEX movements_check ON movements (check_id)""",
    """CREATE TABLE checks (
        id TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members,
        store_id TEXT NOT NULL, till_id TEXT NOT NULL, status TEXT NOT NULL,
        lines TEXT NOT NULL, calculation TEXT NOT NULL, fingerprint TEXT NOT NULL,
        total INTEGER NOT NULL, earn INTEGER NOT NULL, spend INTEGER NOT NULL,
        hold_expires_at INTEGER, program_version INTEGER NOT NULL,
        created_at INTEGER NOT NULL, closed_at INTEGER, result TEXT)""",
    """CREATE INDEX checks_member_status ON checks (member_id, status)""",
    """CREATE INDEX checks_status_expiry ON checks (status, hold_expires_at)""",
    """CREATE TABLE returns (
        id TEXT PRIMARY KEY, check_id TEXT NOT NULL REFERENCES checks, lines TEXT NOT NULL,
        taken_back INTEGER NOT NULL, given_back INTEGER NOT NULL, created_at INTEGER NOT NULL,
        result TEXT NOT NULL)""",
    """CREATE INDEX returns_check ON returns (check_id)""",
    """CREATE TABLE idempotency (
        till INTEGER NOT NULL, key TEXT NOT NULL, route TEXT NOT NULL, body_hash TEXT NOT NULL,
        status INTEGER NOT NULL, answer TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (till, key))""",
    """CREATE TABLE codes (
        id TEXT PRIMARY KEY, phone TEXT NOT NULL, purpose TEXT NOT NULL, member_id TEXT,
        code_hash TEXT NOT NULL, points INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER, expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL,
        used_at INTEGER, registration TEXT)""",
    """CREATE INDEX codes_phone ON codes (phone)""",
    """CREATE TABLE sms_outbox (
        id INTEGER PRIMARY KEY, phone TEXT NOT NULL, text TEXT NOT NULL, code TEXT NOT NULL,
        created_at INTEGER NOT NULL)""",
    """CREATE TABLE offers (
        id TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members, title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '', valid_to TEXT,
        auto_apply INTEGER NOT NULL DEFAULT 0)""",
    """CREATE INDEX offers_member ON offers (member_id)""",
    """CREATE TABLE coupons (
        code TEXT PRIMARY KEY, member_id TEXT REFERENCES members, title TEXT NOT NULL,
        kind TEXT NOT NULL, value INTEGER NOT NULL, valid_to TEXT, used_check_id TEXT)""",
    """CREATE INDEX coupons_member ON coupons (member_id)""",
    """CREATE TABLE products (
        sku TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, price INTEGER NOT NULL,
        active INTEGER NOT NULL DEFAULT 1, seq INTEGER NOT NULL DEFAULT 0)""",
    """CREATE INDEX products_seq ON products (seq)""",
    """CREATE TABLE barcodes (barcode TEXT PRIMARY KEY, sku TEXT NOT NULL REFERENCES products)""",
    """CREATE INDEX barcodes_sku ON barcodes (sku)""",
    """CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY, check_id TEXT NOT NULL, member_id TEXT NOT NULL,
        kind TEXT NOT NULL, details TEXT NOT NULL, created_at INTEGER NOT NULL)""",
]


@migrations()
def m001_initial(db: Database) -> None:
    for statement in _SCHEMA_V1:
        db.execute(statement)


@migrations()
def m002_hot_indexes(db: Database) -> None:
    # A member's usable balance is summed from the index alone (lots not active yet, expired
    # or used up are skipped by the range), and a check's lots are found without a scan.
    db.execute(
        "CREATE INDEX lots_open ON lots (member_id, active_from, expires_at, remaining)"
        " WHERE remaining != 0"
    )
    db.execute("CREATE INDEX lots_check ON lots (check_id)")


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
        self._write_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._committer: threading.Thread | None = None
        self._committer_lock = threading.Lock()
        self._pending: list[_Job] = []
        self._drainer: asyncio.Task[None] | None = None
        self._inline: Database | None = None
        self._locker = ThreadPoolExecutor(1, thread_name_prefix="storage-locker")
        try:
            db = self.db()
            with db.ensure_autocommit_on():
                db.execute("PRAGMA journal_mode=WAL")
            migrations.apply(db)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"Cannot open the processing database {self.path}: {exc}") from exc

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
        # Writers of this process queue on a lock first, then on the file lock shared with
        # other processes: SQLite's own busy handler polls with sleeps of up to 100 ms, which
        # under 50 tills turns into seconds of tail latency. The file lock is only a queue;
        # BEGIN IMMEDIATE is still what excludes every other writer (a process without the
        # file lock included).
        with self._write_lock:
            fd = self._writer_fd()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                db.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.conn.execute("ROLLBACK")
                    raise
                else:
                    db.conn.execute("COMMIT")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _writer_fd(self) -> int:
        """The advisory write lock file of this database (opened once per Storage; call
        under ``_write_lock``)."""
        if self._lock_fd is None:
            self._lock_fd = os.open(
                f"{self.path}.write-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
        return self._lock_fd

    def submit(self, fn: Callable[[Database], T]) -> Future[T]:
        """Run ``fn(db)`` in a write transaction on the committer thread (group commit).

        Writes queued while a transaction is in progress are applied together in the next one,
        each inside its own SAVEPOINT, with one COMMIT (one fsync) for the group. The future
        resolves only after that COMMIT has returned, so no caller hears of a write that is not
        durable. A write that raises is rolled back to its savepoint alone and its future gets
        the exception; the others in the group are unaffected. Every write runs serially
        against what the ones before it wrote, exactly as with one transaction each.
        """
        job: _Job = _Job(fn)
        self.start_committer()
        self._jobs.put(job)
        return job.future

    def start_committer(self) -> None:
        """Start the committer thread with its connection open (idempotent; :meth:`submit`
        starts it too, a server starts it before it listens)."""
        if self._committer is not None:
            return
        with self._committer_lock:
            if self._committer is None:
                opened = threading.Event()
                self._committer = threading.Thread(
                    target=self._commit_loop, args=(opened,), name="storage-committer", daemon=True
                )
                self._committer.start()
                opened.wait(timeout=30)

    def _commit_loop(self, opened: threading.Event) -> None:
        try:
            self.db()
        finally:
            opened.set()
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < GROUP_MAX:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._run_group(group, self._apply)
            if stop:
                return

    def _run_group(
        self, group: list[_Job], apply: Callable[[list[_Job]], list[tuple[_Job, bool, Any]]]
    ) -> None:
        try:
            outcomes = apply(group)
        except BaseException as exc:
            if len(group) > 1:
                # The transaction itself failed (e.g. a write left it unusable, or COMMIT did):
                # nothing of the group is stored and nobody has been answered; isolate the
                # culprit by running each write alone.
                for job in group:
                    self._run_group([job], apply)
                return
            outcomes = [(group[0], False, exc)]
        for job, ok, value in outcomes:
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

    def _apply(self, group: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        with self._write_lock:
            fd = self._writer_fd()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                return self._transact(self.db(), group)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @staticmethod
    def _transact(db: Database, group: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        """One BEGIN IMMEDIATE … COMMIT around ``group``, a SAVEPOINT per job (call with the
        write locks held)."""
        outcomes: list[tuple[_Job, bool, Any]] = []
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in group:
                # Pending the first time; already running when a failed group is re-run.
                if not job.future.running() and not job.future.set_running_or_notify_cancel():
                    continue  # the caller went away before its write started
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(db)
                except Exception as exc:
                    if not conn.in_transaction:
                        raise  # SQLite rolled the whole transaction back
                    conn.execute("ROLLBACK TO SAVEPOINT job")
                    conn.execute("RELEASE SAVEPOINT job")
                    outcomes.append((job, False, exc))
                else:
                    conn.execute("RELEASE SAVEPOINT job")
                    outcomes.append((job, True, value))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return outcomes

    async def run(self, fn: Callable[[Database], T]) -> T:
        """Run ``fn(db)`` in a write transaction on the calling event loop's own thread, shared
        with the writes queued on this loop meanwhile (group commit, as :meth:`submit`).

        Why not the committer thread: a transaction issues a few dozen SQLite calls, and each
        gives up the GIL and must win it back from the event loop thread, which holds it for a
        whole request step at a time (up to the 5 ms switch interval). Measured under
        server_throughput: groups held the cross-process lock for 20-30 ms of which a few
        were SQLite's. Run here, the transaction never waits for the GIL; only waiting for
        the lock held by another process is done off the loop (a thread blocked in flock).
        A COMMIT is a fraction of a millisecond (WAL, one fsync per group).
        """
        job: _Job = _Job(fn)
        self._pending.append(job)
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await asyncio.wrap_future(job.future)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            misses = 0
            while self._pending:
                if not self._try_lock():
                    if misses >= _INLINE_TRIES:
                        # Another process keeps winning the lock: queue for it in a thread
                        # and run the group there (slower, but sure to make progress).
                        group = self._take()
                        await loop.run_in_executor(
                            self._locker, self._run_group, group, self._apply
                        )
                        misses = 0
                        continue
                    # Wait off the loop until the lock is free, then try again from here: the
                    # lock is never held while this busy loop gets round to the wake-up (tens
                    # of milliseconds under load), which the other process would wait out.
                    await loop.run_in_executor(self._locker, self._await_free)
                    misses += 1
                    continue
                misses = 0
                try:
                    self._run_group(self._take(), self._transact_inline)
                finally:
                    self._unlock()
        finally:
            self._drainer = None

    def _take(self) -> list[_Job]:
        group = self._pending[:GROUP_MAX]
        del self._pending[:GROUP_MAX]
        return group

    def _await_free(self) -> None:
        """Block until this process could take the write lock (then leave it free)."""
        self._lock()
        self._unlock()

    def _transact_inline(self, group: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        return self._transact(self._inline_db(), group)

    def _inline_db(self) -> Database:
        """The connection of the event-loop writer (its own; opened on first use)."""
        if self._inline is None:
            self._inline = self._connect()
        return self._inline

    def _try_lock(self) -> bool:
        if not self._write_lock.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._writer_fd(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._write_lock.release()
            return False
        except BaseException:
            self._write_lock.release()
            raise
        return True

    def _lock(self) -> None:
        self._write_lock.acquire()
        try:
            fcntl.flock(self._writer_fd(), fcntl.LOCK_EX)
        except BaseException:
            self._write_lock.release()
            raise

    def _unlock(self) -> None:
        try:
            fcntl.flock(self._writer_fd(), fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    @contextmanager
    def read(self) -> Iterator[Database]:
        """A consistent read snapshot (a deferred transaction: several SELECTs see one state)."""
        db = self.db()
        db.conn.execute("BEGIN")
        try:
            yield db
        finally:
            db.conn.execute("ROLLBACK")

    def close(self) -> None:
        """Stop the committer (after the writes already queued) and close every connection."""
        with self._committer_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            self._jobs.put(None)
            committer.join(timeout=30)
        with self._all_lock:
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
        self._inline = None
        self._locker.shutdown(wait=False)
        with self._write_lock:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


@dataclass
class _Job:
    fn: Callable[[Database], Any]
    future: Future[Any] = field(default_factory=Future)


def next_seq(db: Database, name: str) -> int:
    """The next value of counter ``name`` (call inside a write transaction)."""
    row = db.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1) "
        "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
        [name],
    ).fetchone()
    return int(row[0])


def get_setting(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_setting(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
