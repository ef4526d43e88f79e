"""Migration 0009: the operator API's keys (sqlite-utils migration m009 before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The operator API's keys (processing.server.ops.operators): a kind of their own, never a
    # till's, stored as a SHA-256 hash like the tills' keys.
    run(
        """CREATE TABLE operators (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL, revoked_at INTEGER)"""
    )
