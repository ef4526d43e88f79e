"""The storage seam: what the domain code sees of a database, and how one is opened.

The domain (members, ledger, holds, checks, …) receives a :class:`Database`: ``execute(sql,
params)`` returning a cursor (``fetchone``, ``fetchall``, iteration, ``rowcount``), and
``conn.execute``/``conn.executemany`` for savepoints and bulk inserts — exactly the part of
sqlite-utils' ``Database`` it has always used. SQL is written once, with ``?`` placeholders,
in the dialect both engines accept.

Two engines implement :class:`StorageEngine`:

- :class:`processing.server.storage.Storage` — one SQLite file (the default, the demo's): WAL,
  a cross-process write lock and group commit (:mod:`processing.server.writes`).
- :class:`processing.server.pg.PgStorage` — PostgreSQL (``postgresql://…``): a connection
  pool, every write a SERIALIZABLE transaction retried on a serialisation failure, so several
  server processes on several machines share one database with no other coordination.

Both are migrated by the same Alembic scripts (:mod:`processing.server.migrate`).

What cannot be undone (an SMS handed to a provider) waits for the write to commit
(:func:`after_commit`): a write may be rolled back, or run again from the start (a
serialisation retry on PostgreSQL, a failed group commit's writes one by one on SQLite).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")

log = logging.getLogger("processing.server")

_on_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar("on_commit", default=None)


class Cursor(Protocol):
    """The part of a DB-API cursor the domain uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """The raw connection: savepoints and bulk inserts."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class Database(Protocol):
    """What a domain function is handed: one connection, inside a transaction."""

    def execute(self, sql: str, parameters: Any = None) -> Cursor: ...

    @property
    def conn(self) -> Conn: ...


class StorageEngine(Protocol):
    """A server database: transactions for the domain, migrations done on open."""

    @property
    def target(self) -> str:
        """What ``--db`` named (a file path or a DSN without its password)."""
        ...

    @property
    def location(self) -> str:
        """What to open again in another process (may hold a password: never shown)."""
        ...

    @property
    def engine(self) -> str:
        """ "sqlite" or "postgresql"."""
        ...

    @property
    def synchronous(self) -> str: ...

    def db(self) -> Database:
        """A connection for a single statement outside any transaction (autocommit reads)."""
        ...

    def write(self) -> AbstractContextManager[Database]: ...

    def read(self) -> AbstractContextManager[Database]: ...

    def submit(self, fn: Callable[[Database], T]) -> Future[T]: ...

    async def reading(self, fn: Callable[[Database], T], *, snapshot: bool = True) -> T:
        """``fn(db)`` in a read snapshot (``snapshot`` False: statements on their own, as
        :meth:`db`), where it does not hold up the event loop: inline on SQLite (a local file:
        microseconds), on a reader thread on PostgreSQL (the network, a slow query)."""
        ...

    async def run(self, fn: Callable[[Database], T]) -> T: ...

    def start_committer(self) -> None: ...

    def health(self) -> str:
        """ "ok", or one sentence saying what is wrong with the database."""
        ...

    def close(self) -> None: ...


def after_commit(action: Callable[[], None]) -> None:
    """Do ``action`` once the write transaction being run on this thread has committed; never
    if it is rolled back, and once only if it is run again (each run asks afresh, and only the
    run that commits counts). Outside a write transaction: at once."""
    hooks = _on_commit.get()
    if hooks is None:
        action()
    else:
        hooks.append(action)


@contextmanager
def collecting_commit_actions() -> Iterator[list[Callable[[], None]]]:
    """For an engine: the :func:`after_commit` actions of the write run inside the block (one
    attempt of it); the engine calls :func:`run_commit_actions` on them after its COMMIT."""
    hooks: list[Callable[[], None]] = []
    token = _on_commit.set(hooks)
    try:
        yield hooks
    finally:
        _on_commit.reset(token)


def run_commit_actions(hooks: list[Callable[[], None]]) -> None:
    """Do a committed write's :func:`after_commit` actions. The write is durable whatever they
    do: an action that fails is logged, never turned into the write's error."""
    for action in hooks:
        try:
            action()
        except Exception:
            log.exception("an action after a commit failed")
    hooks.clear()


def then(
    db: Database, fn: Callable[[Database], object], *, stamp: tuple[str, int] | None = None
) -> None:
    """Run ``fn`` on the database as its own transaction once ``db``'s has committed (before
    that write answers), where the engine runs writes side by side (PostgreSQL): bookkeeping
    whose reads of a hot index range would otherwise make every write conflict with every
    other (SSI predicate locks) and be run again; there, ``stamp`` (a kind and a moment in
    seconds) skips it when this process's last run of that kind was at the same moment
    (bookkeeping that a second run at the same moment would find nothing for: one
    transaction a second, not one a write). Where writes
    run one at a time (SQLite): at once, inside ``db``'s transaction, every time (``stamp``
    is not used: the run is one indexed read when there is nothing to do)."""
    later = getattr(db, "then", None)
    if later is None:
        fn(db)
    else:
        later(fn, stamp)


def skip_locked(db: Database) -> str:
    """`` FOR UPDATE SKIP LOCKED`` where the engine has row locks (PostgreSQL), else nothing
    (SQLite has one writer at a time: nothing to skip). For queue-like sweeps."""
    return str(getattr(db, "SKIP_LOCKED", ""))


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def open_storage(target: str | Path, *, synchronous: str = "FULL") -> StorageEngine:
    """The engine for ``--db``: a ``postgresql://`` DSN opens PostgreSQL, anything else is an
    SQLite file. Raises :class:`processing.server.storage.StorageError` (one sentence) when
    the database cannot be reached or migrated."""
    if is_postgres(target):
        from processing.server.pg import PgStorage

        return PgStorage(str(target))
    from processing.server.storage import Storage

    return Storage(target, synchronous=synchronous)
