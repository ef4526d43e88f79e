"""Migration 0008: the operator's side (sqlite-utils migration m008_operator before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The operator's side (processing.server.ops). A program version is in force from a local
    # date of the stores (NULL: from the start); a check goes by the version in force on its
    # day in its store's calendar.
    run("ALTER TABLE programs ADD COLUMN effective_from TEXT")
    # A conflict is resolved by a named operator with a reason, never silently.
    run("ALTER TABLE conflicts ADD COLUMN resolved_at INTEGER")
    run("ALTER TABLE conflicts ADD COLUMN resolved_by TEXT")
    run("ALTER TABLE conflicts ADD COLUMN resolution TEXT")
    # Why a member is blocked or earn-only.
    run("ALTER TABLE members ADD COLUMN state_reason TEXT")
    # Every operator action on money or states: who, when, why.
    run(
        """CREATE TABLE operator_log (
        id INTEGER PRIMARY KEY, at INTEGER NOT NULL, operator TEXT NOT NULL,
        action TEXT NOT NULL, subject TEXT NOT NULL, reason TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}')"""
    )
    # Expiry notices already sent, one per lot (jobs run never sends one twice).
    run(
        """CREATE TABLE expiry_notices (
        lot_id INTEGER PRIMARY KEY REFERENCES lots, member_id TEXT NOT NULL,
        sent_at INTEGER NOT NULL)"""
    )
