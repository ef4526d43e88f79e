"""Migration 0005 (sqlite-utils migration m005_code_limits before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SMS code limits (processing.server.codes): every code sent (per phone and per till) and
    # every wrong code typed (per phone, whatever code it was for), kept for an hour at most;
    # a phone locked by too many wrong codes stays locked until ``locked_until``.
    run("CREATE TABLE code_sends (phone TEXT NOT NULL, till INTEGER NOT NULL, at INTEGER NOT NULL)")
    run("CREATE INDEX code_sends_phone ON code_sends (phone, at)")
    run("CREATE INDEX code_sends_till ON code_sends (till, at)")
    run("CREATE TABLE code_failures (phone TEXT NOT NULL, at INTEGER NOT NULL)")
    run("CREATE INDEX code_failures_phone ON code_failures (phone, at)")
    run("CREATE TABLE code_locks (phone TEXT PRIMARY KEY, locked_until INTEGER NOT NULL)")
