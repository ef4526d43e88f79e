"""The PostgreSQL engine of the server's storage (``--db postgresql://…``).

Several server processes, on one machine or many, share one database with no coordination
but the database itself:

- Every write runs in a SERIALIZABLE transaction on a pooled connection, on one of
  :data:`WRITERS` writer threads (:meth:`PgStorage.run`), never on the event loop: a write
  waiting on a lock or pausing before a retry does not stop the node serving its other
  requests. Two transactions whose reads and writes could not have happened one after the
  other (two tills spending one balance, two nodes storing one idempotency key) are not both
  committed: PostgreSQL aborts one with a serialisation failure, and it is run again from the
  start (:data:`RETRIES` times, after a short random pause), seeing what the other committed.
  Two things are shared by most writes, so overlapping writes (of one process's writer
  threads or of different nodes) conflict on them and one runs again: the member-change
  counter row (below) and the open holds the hold's expiry sweep reads. The write function
  must therefore be safe to run again, which every domain write is (it reads the database,
  changes it, and keeps no state outside it). No lock is global but one that writes share:
  a write that has lost :data:`LOCK_AFTER` rounds takes it alone, waits for the writes in
  progress and runs with none beside it, so it cannot lose again (:meth:`PgStorage.transact`).
  One till's writes in progress are few (:mod:`~processing.server.writelanes`), so a flood
  from a leaked key cannot turn into a queue of lone writes that stops every node.
- Reads run on :data:`READERS` reader threads (:meth:`PgStorage.reading`: the routes' read
  snapshots and the key check of every request), never on the event loop either.
- Throughput: a sale is about fifty statements, each a round trip to PostgreSQL. Writes of
  one process overlap on its writer threads and reads on its reader threads; more processes
  (``serve --workers``, more nodes) add rate (the ``server_throughput_pg`` and ``scale_out``
  benchmarks).
- Idempotency keys are claimed before the handler runs: the write transaction's first
  statement inserts a pending row under the key (:func:`idempotency.lookup
  <processing.server.idempotency.lookup>`), so a node that gets a key another node is handling
  waits on that row until the other commits, and is then retried and replays the stored answer
  — the handler runs once, not twice with one of them undone. A unique violation elsewhere
  (two keys writing one check id at once) is retried as the serialisation failure it is.
- Sequences (``counters``, the member-delta cursor ``members.seq``): a value is taken with an
  UPDATE of the counter's row, whose row lock is held until COMMIT; the next transaction
  taking one waits for that COMMIT (then is retried). So values become visible in the order
  they were taken: a delta reader that has seen seq N has seen every seq below N.
- Caches: the program in force and the catalog's categories are kept per process under
  ``counters.catalog``, which triggers raise with every change to them
  (:mod:`~processing.server.catalog_cache`); till keys are cached for 5 seconds, but every
  request reads the revocation counter (:mod:`~processing.server.keycache`), so a key revoked
  on one node is refused by every node at its next request.
- Every statement has a ``statement_timeout``; a database that cannot be reached or has an
  unknown schema is one sentence (:class:`~processing.server.storage.StorageError`).

The domain's SQL uses ``?`` placeholders (``?1``, ``?2`` for a value used twice) and a few
SQLite spellings; :func:`~processing.server.pg_dialect.translate` turns them into psycopg's,
once per statement text.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from processing.server.engine import after_commit, collecting_commit_actions, run_commit_actions
from processing.server.migrate import HEAD, MigrationError, upgrade
from processing.server.pg_dialect import IntegralNumeric, params, translate
from processing.server.storage import StorageError

T = TypeVar("T")

RETRIES = 40
"""Times a write aborted by a serialisation failure is run again before it fails. Many:
PostgreSQL's conflict detection is conservative (index pages, not rows), so under load two
nodes' writes to different members can abort each other a few times running; a till would
only resend the request, under the same key."""
LOCK_AFTER = 3
"""Rounds a write may lose before its next ones queue to run alone (:meth:`PgStorage.transact`).
"""
_GATED = "LOCK TABLE write_gate IN ROW EXCLUSIVE MODE"
"""Every write transaction's first statement: a lock writes share (PostgreSQL's fast path for
weak relation locks; no row, no snapshot)."""
_QUEUED = "LOCK TABLE write_gate IN SHARE ROW EXCLUSIVE MODE"
"""The first statement of a write that has lost :data:`LOCK_AFTER` rounds: it waits until every
write in progress has ended, and none starts until it commits (the mode conflicts with itself
and with every write's :data:`_GATED`)."""
BACKOFF_MAX = 0.25
"""The longest pause (seconds) before a retry: random, doubling from 1 ms up to this. Long
enough that, with the box saturated and writes taking tens of milliseconds, the writes that
keep aborting each other spread out instead of meeting again at every retry (at 20 ms some
confirms lost all 40 rounds under scale_out)."""
STATEMENT_TIMEOUT_MS = 10_000
"""No statement runs longer (a stuck lock or a runaway query fails the request instead)."""
POOL_SIZE = 10
"""Connections per server process: the writer threads, the reader threads, and the odd
autocommit statement."""
READERS = 4
"""Reader threads per server process (:meth:`PgStorage.reading`): reads of one process at
once, each on its own connection, none on the event loop."""
WRITERS = 2
"""Writer threads per server process: write transactions of one process at once. Two: one
write may wait on a lock while another proceeds; more would mostly add re-runs, since nearly
every write takes the member-change counter (``counters``), so writes that overlap conflict
there and all but one run again from the start."""
CONNECT_TIMEOUT_S = 5

_RETRIED = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.UniqueViolation)


class _Rows:
    """A cursor's rows read out, for a statement whose connection went back to the pool."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgDatabase:
    """One pooled connection as the domain's :class:`~processing.server.engine.Database`."""

    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    CLAIMS_KEYS = True  # idempotency keys are claimed before the handler runs (idempotency)

    def __init__(self, conn: psycopg.Connection[Any], storage: PgStorage | None = None) -> None:
        self._conn = conn
        self._storage = storage

    def then(self, fn: Callable[[Any], object], stamp: tuple[str, int] | None = None) -> None:
        """Run ``fn(db)`` in a serialisable transaction of its own (retried as every write)
        once this one has committed, before its answer goes, unless this process's last run
        of ``stamp``'s kind was at its moment (:meth:`PgStorage.owed`): see
        :func:`processing.server.engine.then`."""
        storage = self._storage
        if storage is None:
            fn(self)
            return

        def run() -> None:
            if stamp is None or storage.owed(*stamp):
                storage.transact(fn)

        after_commit(run)

    def owed(self, kind: str, moment: int) -> int:
        """:meth:`PgStorage.owed` (1, every call, for a connection of no storage)."""
        return 1 if self._storage is None else self._storage.owed(kind, moment)

    def execute(self, sql: str, parameters: Any = None) -> psycopg.Cursor[Any]:
        text, numbered = translate(sql)
        # psycopg prepares a statement on the server once it has run a few times on this
        # connection: the hot path's statements are parsed and planned once per connection.
        return self._conn.execute(text, params(parameters, numbered))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        text, numbered = translate(sql)
        with self._conn.cursor() as cursor:
            cursor.executemany(text, [params(p, numbered) for p in parameters])

    @property
    def conn(self) -> PgDatabase:
        # The domain opens savepoints and bulk inserts through ``db.conn``: the same thing here.
        return self


class _Autocommit:
    """``Storage.db()`` for PostgreSQL: each statement on a pooled connection of its own."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def execute(self, sql: str, parameters: Any = None) -> _Rows:
        text, numbered = translate(sql)
        with self._pool.connection() as conn:
            cursor = conn.execute(text, params(parameters, numbered))
            rows = cursor.fetchall() if cursor.description is not None else []
            return _Rows(rows, cursor.rowcount)

    @property
    def conn(self) -> _Autocommit:
        return self

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        text, numbered = translate(sql)
        with self._pool.connection() as conn, conn.cursor() as cursor:
            cursor.executemany(text, [params(p, numbered) for p in parameters])


def safe_target(dsn: str) -> str:
    """The DSN as shown in messages: host, port and database, never the password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the PostgreSQL database"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"PostgreSQL {parts.get('dbname') or ''} at {host}:{port}".replace("  ", " ")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def configure(conn: psycopg.Connection[Any]) -> None:
    """Set up a new connection: whole NUMERICs load as int, every statement has a timeout."""
    conn.adapters.register_loader("numeric", IntegralNumeric)
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")


class PgStorage:
    """The server database on PostgreSQL: pooled connections, serialisable writes, retried."""

    engine = "postgresql"
    synchronous = "FULL"  # PostgreSQL's own durability (synchronous_commit) applies

    def __init__(self, dsn: str, *, pool_size: int = POOL_SIZE) -> None:
        self.location = dsn
        self.target = safe_target(dsn)
        try:
            conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise StorageError(f"The database address is not valid: {_first_line(exc)}.") from None
        self._migrate()
        self._pool: ConnectionPool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
            configure=configure,
            open=False,
            name="till-processing",
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
        except PoolTimeout:
            raise StorageError(f"Cannot reach {self.target}.") from None
        self._writers = ThreadPoolExecutor(
            max(1, min(WRITERS, pool_size - 2)), thread_name_prefix="pg-writer"
        )
        self._readers = ThreadPoolExecutor(
            max(1, min(READERS, pool_size - 2)), thread_name_prefix="pg-reader"
        )
        self._autocommit = _Autocommit(self._pool)
        self._closed = threading.Event()
        self._owed_lock = threading.Lock()
        self._owed: dict[str, tuple[int, int]] = {}

    def _migrate(self) -> None:
        """Bring the schema to HEAD (cheap when it is there already)."""
        try:
            with psycopg.connect(self.location, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                current = _revision(conn)
        except psycopg.OperationalError as exc:
            raise StorageError(f"Cannot reach {self.target}: {_first_line(exc)}.") from None
        if current == HEAD:
            return
        try:
            from processing.server.migrate import check_known

            check_known(current, self.target)
            upgrade(_sqlalchemy_url(self.location))
        except MigrationError as exc:
            raise StorageError(str(exc)) from None
        except Exception as exc:
            raise StorageError(f"Cannot migrate {self.target}: {_first_line(exc)}.") from None

    def db(self) -> _Autocommit:
        return self._autocommit

    @contextmanager
    def _transaction(self, begin: str, *, queue: bool = False) -> Iterator[PgDatabase]:
        """One attempt of a transaction; its :func:`~processing.server.engine.after_commit`
        actions are done once its COMMIT has returned (a retry collects its own). Its first
        statement takes the write gate's lock (before the snapshot, which the first query
        takes): with ``queue``, in the mode that runs it alone among writes."""
        with collecting_commit_actions() as actions, self._pool.connection() as conn:
            # One round trip: no parameters, so both go as one simple query.
            conn.execute(f"{begin}; {_QUEUED if queue else _GATED}")
            try:
                yield PgDatabase(conn, self)
            except BaseException:
                if not conn.closed:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            # While the connection is still this transaction's: an action may use it for a
            # statement of its own (autocommit now: the transaction is over).
            run_commit_actions(actions)

    @contextmanager
    def write(self) -> Iterator[PgDatabase]:
        """A serialisable write transaction (not retried: for commands and tests)."""
        with self._transaction("BEGIN ISOLATION LEVEL SERIALIZABLE") as db:
            yield db

    @contextmanager
    def read(self) -> Iterator[PgDatabase]:
        """A consistent read snapshot."""
        with self._pool.connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield PgDatabase(conn)
            finally:
                if not conn.closed:
                    conn.execute("ROLLBACK")

    def owed(self, kind: str, moment: int) -> int:
        """Count one more call of ``kind``; at the first call of a new ``moment`` (once a
        second, for a moment in seconds), hand over how many calls were counted since the
        last hand-over (this one included), else 0: for bookkeeping done once a second by
        the process (:meth:`PgDatabase.then`'s stamps; the idempotency prune, in proportion
        to the writes that made it due)."""
        with self._owed_lock:
            last, count = self._owed.get(kind, (0, 0))
            count += 1
            if moment == last:
                self._owed[kind] = (last, count)
                return 0
            self._owed[kind] = (moment, 0)
            return count

    def _read(self, fn: Callable[[Any], T]) -> T:
        with self.read() as db:
            return fn(db)

    async def reading(self, fn: Callable[[Any], T], *, snapshot: bool = True) -> T:
        """``fn(db)`` in a read snapshot (``snapshot`` False: statements on their own, as
        :meth:`db`) on a reader thread: a read waits on the network and may wait behind a slow
        query (bounded by the statement timeout), and the node's other requests must not wait
        with it."""
        task = self._read if snapshot else lambda f: f(self._autocommit)
        return await asyncio.wrap_future(self._readers.submit(task, fn))

    def transact(self, fn: Callable[[PgDatabase], T]) -> T:
        """Run ``fn(db)`` in a serialisable transaction, again from the start when PostgreSQL
        aborts it for a conflict with a concurrent one.

        Nearly every write takes a counter, so overlapping writes conflict there and all but
        one run again; one can lose round after round (a 500 after :data:`RETRIES`). After
        :data:`LOCK_AFTER` lost rounds a write queues instead: it takes the write gate in a
        mode that waits for every write in progress and lets no other start, before its
        snapshot (PostgreSQL's recipe for a serialisable transaction that must not lose). It
        then runs with no concurrent write, so it cannot lose a conflict; the writes of every
        node wait for it meanwhile (reads do not)."""
        for attempt in range(RETRIES):
            try:
                with self._transaction(
                    "BEGIN ISOLATION LEVEL SERIALIZABLE", queue=attempt >= LOCK_AFTER
                ) as db:
                    return fn(db)
            except _RETRIED:
                if attempt == RETRIES - 1:
                    raise
                # Back off a random few milliseconds, more each time: the two sides of a
                # conflict do not meet again at once.
                time.sleep(random.uniform(0, min(BACKOFF_MAX, 0.001 * 2**attempt)))
        raise AssertionError("unreachable")

    def submit(self, fn: Callable[[PgDatabase], T]) -> Future[T]:
        return self._writers.submit(self.transact, fn)

    async def run(self, fn: Callable[[PgDatabase], T]) -> T:
        """Run ``fn(db)`` in a serialisable transaction on a writer thread; the event loop
        serves the node's other requests meanwhile.

        Why not on the loop's own thread (as the SQLite engine writes, to save GIL hand-offs):
        a PostgreSQL transaction waits on the network for each statement, and may wait much
        longer — on a row another node has locked, behind a slow query, a serialisation
        retry's pause — and every request of the node would wait with it."""
        return await asyncio.wrap_future(self.submit(fn))

    def start_committer(self) -> None:
        """Nothing to start: writes go to the writer pool."""

    def health(self) -> str:
        try:
            with self._pool.connection(timeout=CONNECT_TIMEOUT_S) as conn:
                current = _revision(conn)
        except (psycopg.Error, PoolTimeout) as exc:
            return f"Cannot reach {self.target}: {_first_line(exc)}."
        if current != HEAD:
            return f"{self.target} is at schema revision {current}; this server needs {HEAD}."
        return "ok"

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._writers.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._pool.close()


def _revision(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return None
    found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if found is None else str(found[0])


def _sqlalchemy_url(dsn: str) -> str:
    """SQLAlchemy's name for the same database through psycopg 3."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if dsn.startswith(scheme):
            return "postgresql+psycopg://" + dsn[len(scheme) :]
    return dsn
