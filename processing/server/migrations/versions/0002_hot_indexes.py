"""Migration 0002 (sqlite-utils migration m002_hot_indexes before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A member's usable balance is summed from the index alone (lots not active yet, expired
    # or used up are skipped by the range), and a check's lots are found without a scan.
    run(
        "CREATE INDEX lots_open ON lots (member_id, active_from, expires_at, remaining)"
        " WHERE remaining != 0"
    )
    run("CREATE INDEX lots_check ON lots (check_id)")
