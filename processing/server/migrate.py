"""One set of migrations for both engines, run by Alembic (scripts in ``migrations/``).

Opening a database migrates it to :data:`HEAD` (as the server always did). A database already
at HEAD is recognised with one query, without loading Alembic, so opening stays cheap. SQLite
files made before Alembic (sqlite-utils migrations, ``_sqlite_migrations``) are stamped at the
revision matching the migrations they had, then upgraded: nothing is lost or redone.

A database at a revision this code does not know (made by a newer till) is refused with one
sentence rather than touched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

HEAD = "0013"
"""The newest revision in migrations/versions (a test checks the two agree)."""

SCRIPTS = Path(__file__).with_name("migrations")
_LEGACY_SET = "till-processing"


class MigrationError(Exception):
    """The database cannot be brought to this code's schema (one sentence)."""


def _config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    config = _config(None)
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def script_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    return str(head)


def check_known(current: str | None, where: str) -> None:
    if current is not None and current not in known_revisions():
        raise MigrationError(
            f"{where} is at schema revision {current}, newer than this version of till knows;"
            " upgrade till on this machine."
        )


def upgrade(url: str, *, stamp: str | None = None, to: str = "head") -> None:
    """Run Alembic on ``url`` (a SQLAlchemy URL): stamp ``stamp`` first when given (a
    database made before Alembic), then upgrade to ``to`` (the newest unless told)."""
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = _config(connection)
            if stamp is not None:
                command.stamp(config, stamp)
            command.upgrade(config, to)
    finally:
        engine.dispose()


def sqlite_revision(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    """(current Alembic revision or None, the revision to stamp a pre-Alembic file at)."""
    tables = {
        str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if "alembic_version" in tables:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return (None if row is None else str(row[0])), None
    if "_sqlite_migrations" not in tables:
        return None, None
    names = {
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [_LEGACY_SET]
        )
    }
    applied = 0
    while any(name.startswith(f"m{applied + 1:03d}_") for name in names):
        applied += 1
    return None, (f"{applied:04d}" if applied else None)


def migrate_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the SQLite file ``path`` (``conn`` open on it, autocommit) to HEAD."""
    current, stamp = sqlite_revision(conn)
    if current == HEAD:
        return
    check_known(current, str(path))
    upgrade(f"sqlite:///{path}", stamp=stamp)
