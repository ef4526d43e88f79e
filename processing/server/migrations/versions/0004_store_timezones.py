"""Migration 0004 (sqlite-utils migration m004_store_timezones before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The calendar each store's rules and messages follow (processing.server.zones): an IANA
    # name; a store without a row uses the server's default (`serve --timezone`, UTC).
    run("CREATE TABLE stores (store_id TEXT PRIMARY KEY, timezone TEXT NOT NULL)")
    # The zone a claim's base-tier earn was calculated in, so its redemption (maybe at a store
    # elsewhere) calculates the sale's day the same way; NULL: made before stores had
    # timezones, when every calendar was UTC.
    run("ALTER TABLE claims ADD COLUMN timezone TEXT")
