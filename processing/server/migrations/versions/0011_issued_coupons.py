"""Migration 0011: coupons issued to members, keyed by a row id (one code, many members)."""

from processing.server.migrations.dialect import run

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Coupons issued by the operator (processing.server.ops.coupons): a row per member, so a
    # shared code reaches many members under one code; the key is a row id, (code, member)
    # unique. ``unlocks``: the promotion's coupon string the code unlocks (NULL: the code
    # itself, as the seed's coupons); ``use_limit``: uses of a shared code across its members
    # (NULL: one code, one member); ``cancelled_at``: cancelled by the operator. The table is
    # rebuilt: SQLite cannot change a primary key.
    run(
        """CREATE TABLE coupons_new (
        id INTEGER PRIMARY KEY, code TEXT NOT NULL, member_id TEXT REFERENCES members,
        title TEXT NOT NULL, kind TEXT NOT NULL, value INTEGER NOT NULL, valid_to TEXT,
        used_check_id TEXT, valid_from TEXT, unlocks TEXT, use_limit INTEGER,
        cancelled_at INTEGER)"""
    )
    run(
        "INSERT INTO coupons_new (code, member_id, title, kind, value, valid_to, used_check_id)"
        " SELECT code, member_id, title, kind, value, valid_to, used_check_id FROM coupons"
    )
    run("DROP TABLE coupons")
    run("ALTER TABLE coupons_new RENAME TO coupons")
    run("CREATE UNIQUE INDEX coupons_code_member ON coupons (code, (COALESCE(member_id, '')))")
    run("CREATE INDEX coupons_member ON coupons (member_id)")
    run("CREATE INDEX coupons_used ON coupons (used_check_id)")
