"""Migration 0013: the write gate, the table every PostgreSQL write transaction locks first."""

from processing.server.migrations.dialect import run

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Never holds a row: only its lock is used (processing.server.pg: every write takes it in
    # a mode writes share; a write that has lost too many serialisation conflicts takes it in
    # one that waits for them all and lets none start, so it runs alone and cannot lose).
    # SQLite runs one write at a time already and never locks it; the table is made there too
    # so that both engines have the same tables.
    run("CREATE TABLE write_gate (id INTEGER PRIMARY KEY)")
