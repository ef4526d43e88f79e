"""Migration 0010: personal offers keyed by offer and member (sqlite-utils m010 before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A personal offer goes to many members under one id (the personal promotion's promo_id,
    # processing.server.ops.offers), so its key is (id, member_id), not id alone: with id as
    # the key a personal promotion could reach only one member. ``valid_from``: the first
    # local day identification shows it (NULL: already). SQLite cannot change a primary key,
    # so the table is rebuilt.
    run(
        """CREATE TABLE offers_new (
        id TEXT NOT NULL, member_id TEXT NOT NULL REFERENCES members, title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '', valid_to TEXT,
        auto_apply INTEGER NOT NULL DEFAULT 0, valid_from TEXT,
        PRIMARY KEY (id, member_id))"""
    )
    run(
        "INSERT INTO offers_new (id, member_id, title, description, valid_to, auto_apply)"
        " SELECT id, member_id, title, description, valid_to, auto_apply FROM offers"
    )
    run("DROP TABLE offers")
    run("ALTER TABLE offers_new RENAME TO offers")
    run("CREATE INDEX offers_member ON offers (member_id)")
