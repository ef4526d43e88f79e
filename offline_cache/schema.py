"""The till database's schema, as sqlite-utils ``Migrations("till")`` steps.

Append new steps at the end; never edit an applied one. Amounts are TEXT holding a ``Decimal``
string; columns used in SQL sums are INTEGER hundredths of a point (``*_cents``) so that no sum
ever passes through a float.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("till")
_KNOWN: list[str] = []


def _step(name: str) -> Callable[[Callable[[Database], None]], Callable[[Database], None]]:
    """Register a migration under ``name`` and remember the name (for the newer-schema check)."""
    _KNOWN.append(name)
    return MIGRATIONS(name=name)


_INITIAL = [
    # The outbox: everything the till commits, in commit order (seq), until acknowledged.
    """
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        member_id TEXT,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        offline INTEGER NOT NULL DEFAULT 0,
        spend_cents INTEGER NOT NULL DEFAULT 0,
        earn_cents INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'acknowledged', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT,
        dead_reason TEXT,
        response TEXT,
        acknowledged_at TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )
    """,
    "CREATE INDEX outbox_state ON outbox (state, seq)",
    "CREATE INDEX outbox_member ON outbox (member_id, seq)",
    # The record content and its hash never change once written; only delivery columns do.
    """
    CREATE TRIGGER outbox_content_immutable BEFORE UPDATE OF
        seq, id, kind, member_id, payload, created_at, offline, spend_cents, earn_cents,
        prev_hash, hash ON outbox
    BEGIN SELECT RAISE(ABORT, 'outbox records are immutable'); END
    """,
    """
    CREATE TRIGGER outbox_keep_unacknowledged BEFORE DELETE ON outbox
    WHEN OLD.state != 'acknowledged'
    BEGIN SELECT RAISE(ABORT, 'unacknowledged outbox records cannot be deleted'); END
    """,
    # Checks the till committed (online or offline), for receipts, returns and the shift report.
    """
    CREATE TABLE checks (
        id TEXT PRIMARY KEY,
        shift_id TEXT,
        cashier TEXT,
        member_id TEXT,
        total TEXT NOT NULL,
        earned TEXT NOT NULL,
        spent TEXT NOT NULL,
        provisional INTEGER NOT NULL DEFAULT 0,
        offline INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        server_earned TEXT,
        server_spent TEXT
    )
    """,
    "CREATE INDEX checks_member ON checks (member_id, created_at)",
    # Append-only audit trail.
    """
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        cashier TEXT,
        action TEXT NOT NULL,
        source TEXT,
        online INTEGER NOT NULL,
        override_by TEXT,
        record_id TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
    """,
    """
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
    """,
    # Caches, each row with the time it was refreshed.
    """
    CREATE TABLE members (
        member_id TEXT PRIMARY KEY,
        phone TEXT,
        state TEXT NOT NULL,
        available TEXT NOT NULL,
        balance_at TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        seen_here INTEGER NOT NULL DEFAULT 0,
        refreshed_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE UNIQUE INDEX members_phone ON members (phone) WHERE phone IS NOT NULL",
    """
    CREATE TABLE member_cards (
        card TEXT PRIMARY KEY,
        member_id TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX member_cards_member ON member_cards (member_id)",
    """
    CREATE TABLE program (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version TEXT,
        payload TEXT NOT NULL,
        public_key TEXT,
        refreshed_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE catalog (
        barcode TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        price TEXT NOT NULL,
        category TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        refreshed_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE offers (
        id TEXT PRIMARY KEY,
        member_id TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('offer', 'coupon')),
        valid_until TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        refreshed_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX offers_member ON offers (member_id)",
    # Delta cursors and refresh times per cache, plus small sync facts (last sync, last error).
    """
    CREATE TABLE sync_state (
        key TEXT PRIMARY KEY,
        value TEXT,
        updated_at TEXT NOT NULL
    )
    """,
    # One row: who drains now, until when (a lease, taken with BEGIN IMMEDIATE).
    """
    CREATE TABLE sync_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        owner TEXT,
        expires_at REAL NOT NULL DEFAULT 0
    )
    """,
    "INSERT INTO sync_lease (id, owner, expires_at) VALUES (1, NULL, 0)",
    # Differences between what the till decided offline and what the server applied.
    """
    CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        local TEXT,
        server TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        resolved_at TEXT
    )
    """,
    "CREATE INDEX conflicts_open ON conflicts (resolved_at, id)",
    # Shifts: closing is refused while the outbox holds unsent items, unless overridden.
    """
    CREATE TABLE shifts (
        id TEXT PRIMARY KEY,
        cashier TEXT,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        override_by TEXT
    )
    """,
    # Receipt print jobs: bytes ready for the printer, retried until printed.
    """
    CREATE TABLE print_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        check_id TEXT,
        kind TEXT NOT NULL,
        receipt BLOB NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'printed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        printed_at TEXT
    )
    """,
    "CREATE INDEX print_jobs_pending ON print_jobs (state, id)",
    "CREATE INDEX print_jobs_check ON print_jobs (check_id)",
]


@_step("0001_initial")
def _initial(db: Database) -> None:
    for statement in _INITIAL:
        db.execute(statement)


def known_migrations() -> list[str]:
    """Names of every migration this version of till knows, in order."""
    return list(_KNOWN)
