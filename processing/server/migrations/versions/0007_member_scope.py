"""Migration 0007 (sqlite-utils migration m007_member_scope before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A store's member-cache delta asks whether a member has a check there
    # (processing.server.snapshots.members_delta).
    run("CREATE INDEX checks_member_store ON checks (member_id, store_id)")
