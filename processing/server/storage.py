"""The server's storage: an SQLite file through sqlite-utils, opened and migrated here.

Everything that touches SQL lives behind :class:`Storage` (and the modules it hands a
``Database`` to), so a chain that outgrows one file can move to PostgreSQL by replacing this
layer. Amounts are integer hundredths (minor units); times are integer Unix seconds (UTC);
the calendar of a store is its ``stores.timezone`` (:mod:`processing.server.zones`).

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
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from processing.server.writes import GroupCommit, WriteLock


class StorageError(Exception):
    """The server database cannot be opened, migrated or written."""


T = TypeVar("T")


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


@migrations()
def m003_claims(db: Database) -> None:
    # Checks made without a customer, waiting under their claim code for a member to redeem
    # them (processing.server.claims). ``lines`` are the wire lines as sent; ``calculation``
    # the base-tier calculation (earn_at_least, and returns before redemption); ``returned``
    # the quantities given back before redemption ({line index: quantity}); ``redeemed`` the
    # stored ClaimRedeemed answer. "expired" is never stored: an open claim past expires_at.
    db.execute(
        """CREATE TABLE claims (
        code TEXT PRIMARY KEY, check_id TEXT NOT NULL UNIQUE,
        store_id TEXT NOT NULL, till_id TEXT NOT NULL, lines TEXT NOT NULL,
        calculation TEXT NOT NULL, earn_at_least INTEGER NOT NULL,
        made_at INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open', returned TEXT NOT NULL DEFAULT '{}',
        redeemed_by TEXT REFERENCES members, redeemed_at INTEGER, redeemed TEXT)"""
    )
    # Returns against a claim not redeemed yet (no member, no points): their answers, for a
    # repeated return id. Moved into ``returns`` when the claim is redeemed.
    db.execute(
        """CREATE TABLE claim_returns (
        id TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES claims, lines TEXT NOT NULL,
        created_at INTEGER NOT NULL, result TEXT NOT NULL)"""
    )
    db.execute("CREATE INDEX claim_returns_code ON claim_returns (code)")


@migrations()
def m004_store_timezones(db: Database) -> None:
    # The calendar each store's rules and messages follow (processing.server.zones): an IANA
    # name; a store without a row uses the server's default (`serve --timezone`, UTC).
    db.execute("CREATE TABLE stores (store_id TEXT PRIMARY KEY, timezone TEXT NOT NULL)")
    # The zone a claim's base-tier earn was calculated in, so its redemption (maybe at a store
    # elsewhere) calculates the sale's day the same way; NULL: made before stores had
    # timezones, when every calendar was UTC.
    db.execute("ALTER TABLE claims ADD COLUMN timezone TEXT")


@migrations()
def m005_code_limits(db: Database) -> None:
    # SMS code limits (processing.server.codes): every code sent (per phone and per till) and
    # every wrong code typed (per phone, whatever code it was for), kept for an hour at most;
    # a phone locked by too many wrong codes stays locked until ``locked_until``.
    db.execute(
        "CREATE TABLE code_sends (phone TEXT NOT NULL, till INTEGER NOT NULL, at INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX code_sends_phone ON code_sends (phone, at)")
    db.execute("CREATE INDEX code_sends_till ON code_sends (till, at)")
    db.execute("CREATE TABLE code_failures (phone TEXT NOT NULL, at INTEGER NOT NULL)")
    db.execute("CREATE INDEX code_failures_phone ON code_failures (phone, at)")
    db.execute("CREATE TABLE code_locks (phone TEXT PRIMARY KEY, locked_until INTEGER NOT NULL)")


@migrations()
def m006_idempotency_retention(db: Database) -> None:
    # Old answers are pruned oldest first (processing.server.idempotency.RETENTION_SECONDS).
    db.execute("CREATE INDEX idempotency_created ON idempotency (created_at)")


@migrations()
def m007_member_scope(db: Database) -> None:
    # A store's member-cache delta asks whether a member has a check there
    # (processing.server.snapshots.members_delta).
    db.execute("CREATE INDEX checks_member_store ON checks (member_id, store_id)")


@migrations()
def m008_operator(db: Database) -> None:
    # The operator's side (processing.server.ops). A program version is in force from a local
    # date of the stores (NULL: from the start); a check goes by the version in force on its
    # day in its store's calendar.
    db.execute("ALTER TABLE programs ADD COLUMN effective_from TEXT")
    # A conflict is resolved by a named operator with a reason, never silently.
    db.execute("ALTER TABLE conflicts ADD COLUMN resolved_at INTEGER")
    db.execute("ALTER TABLE conflicts ADD COLUMN resolved_by TEXT")
    db.execute("ALTER TABLE conflicts ADD COLUMN resolution TEXT")
    # Why a member is blocked or earn-only.
    db.execute("ALTER TABLE members ADD COLUMN state_reason TEXT")
    # Every operator action on money or states: who, when, why.
    db.execute(
        """CREATE TABLE operator_log (
        id INTEGER PRIMARY KEY, at INTEGER NOT NULL, operator TEXT NOT NULL,
        action TEXT NOT NULL, subject TEXT NOT NULL, reason TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}')"""
    )
    # Expiry notices already sent, one per lot (jobs run never sends one twice).
    db.execute(
        """CREATE TABLE expiry_notices (
        lot_id INTEGER PRIMARY KEY REFERENCES lots, member_id TEXT NOT NULL,
        sent_at INTEGER NOT NULL)"""
    )


@migrations()
def m009_operator_keys(db: Database) -> None:
    # The operator API's keys (processing.server.ops.operators): a kind of their own, never a
    # till's, stored as a SHA-256 hash like the tills' keys.
    db.execute(
        """CREATE TABLE operators (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL, revoked_at INTEGER)"""
    )


@migrations()
def m010_segment_offers(db: Database) -> None:
    # A personal offer goes to many members under one id (the personal promotion's promo_id,
    # processing.server.ops.offers), so its key is (id, member_id), not id alone: with id as
    # the key a personal promotion could reach only one member. ``valid_from``: the first
    # local day identification shows it (NULL: already). SQLite cannot change a primary key,
    # so the table is rebuilt.
    db.execute(
        """CREATE TABLE offers_new (
        id TEXT NOT NULL, member_id TEXT NOT NULL REFERENCES members, title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '', valid_to TEXT,
        auto_apply INTEGER NOT NULL DEFAULT 0, valid_from TEXT,
        PRIMARY KEY (id, member_id))"""
    )
    db.execute(
        "INSERT INTO offers_new (id, member_id, title, description, valid_to, auto_apply)"
        " SELECT id, member_id, title, description, valid_to, auto_apply FROM offers"
    )
    db.execute("DROP TABLE offers")
    db.execute("ALTER TABLE offers_new RENAME TO offers")
    db.execute("CREATE INDEX offers_member ON offers (member_id)")


@migrations()
def m011_issued_coupons(db: Database) -> None:
    # Coupons issued by the operator (processing.server.ops.coupons): a row per member, so a
    # shared code reaches many members under one code; the key is a row id, (code, member)
    # unique. ``unlocks``: the promotion's coupon string the code unlocks (NULL: the code
    # itself, as the seed's coupons); ``use_limit``: uses of a shared code across its members
    # (NULL: one code, one member); ``cancelled_at``: cancelled by the operator.
    db.execute(
        """CREATE TABLE coupons_new (
        id INTEGER PRIMARY KEY, code TEXT NOT NULL, member_id TEXT REFERENCES members,
        title TEXT NOT NULL, kind TEXT NOT NULL, value INTEGER NOT NULL, valid_to TEXT,
        used_check_id TEXT, valid_from TEXT, unlocks TEXT, use_limit INTEGER,
        cancelled_at INTEGER)"""
    )
    db.execute(
        "INSERT INTO coupons_new (code, member_id, title, kind, value, valid_to, used_check_id)"
        " SELECT code, member_id, title, kind, value, valid_to, used_check_id FROM coupons"
    )
    db.execute("DROP TABLE coupons")
    db.execute("ALTER TABLE coupons_new RENAME TO coupons")
    db.execute("CREATE UNIQUE INDEX coupons_code_member ON coupons (code, COALESCE(member_id, ''))")
    db.execute("CREATE INDEX coupons_member ON coupons (member_id)")
    db.execute("CREATE INDEX coupons_used ON coupons (used_check_id)")


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
        # Writers queue on the write lock (see processing.server.writes) before BEGIN
        # IMMEDIATE, which is still what excludes every other writer.
        with self._write_lock.held():
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            else:
                db.conn.execute("COMMIT")

    def submit(self, fn: Callable[[Database], T]) -> Future[T]:
        """Run ``fn(db)`` in a write transaction on the committer thread (group commit: see
        :meth:`GroupCommit.submit <processing.server.writes.GroupCommit.submit>`)."""
        return self._group.submit(fn)

    def start_committer(self) -> None:
        """Start the committer thread with its connection open (idempotent; :meth:`submit`
        starts it too, a server starts it before it listens)."""
        self._group.start_committer()

    async def run(self, fn: Callable[[Database], T]) -> T:
        """Run ``fn(db)`` in a write transaction on the calling event loop's own thread, shared
        with the writes queued on this loop meanwhile (group commit: see
        :meth:`GroupCommit.run <processing.server.writes.GroupCommit.run>`)."""
        return await self._group.run(fn)

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
        self._group.close()
        with self._all_lock:
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
        self._write_lock.close()


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
