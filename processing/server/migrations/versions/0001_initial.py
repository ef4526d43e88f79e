"""Migration 0001: the first schema (sqlite-utils migration m001_initial before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENTS = [
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


def upgrade() -> None:
    for statement in STATEMENTS:
        run(statement)
