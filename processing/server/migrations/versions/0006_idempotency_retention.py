"""Migration 0006 (sqlite-utils migration m006_idempotency_retention before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Old answers are pruned oldest first (processing.server.idempotency.RETENTION_SECONDS).
    run("CREATE INDEX idempotency_created ON idempotency (created_at)")
