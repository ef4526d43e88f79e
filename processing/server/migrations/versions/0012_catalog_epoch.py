"""Migration 0012: a counter raised by every change to the program or the catalog."""

from alembic import op

from processing.server.migrations.dialect import run

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_TABLES = ("programs", "products", "barcodes")
"""What a check's calculation reads that is the same for every member: the program versions
and the catalog's categories (processing.server.catalog_cache)."""


def upgrade() -> None:
    # ``counters.catalog`` is raised by triggers, not by the code that writes these tables: a
    # server caches the program in force and the barcodes' categories under its value, so a
    # writer that forgot to raise it (an operator command, a script, sqlite3 by hand) would
    # leave every server calculating with a catalog that is gone.
    run("INSERT INTO counters (name, value) VALUES ('catalog', 1) ON CONFLICT (name) DO NOTHING")
    if op.get_bind().dialect.name == "postgresql":
        run(
            "CREATE FUNCTION bump_catalog_epoch() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN UPDATE counters SET value = value + 1 WHERE name = 'catalog';"
            " RETURN NULL; END $$"
        )
        for table in _TABLES:
            run(
                f"CREATE TRIGGER {table}_catalog_epoch"
                f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_epoch()"
            )
        return
    for table in _TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            run(
                f"CREATE TRIGGER {table}_catalog_epoch_{event.lower()} AFTER {event} ON {table}"
                " BEGIN UPDATE counters SET value = value + 1 WHERE name = 'catalog'; END"
            )
