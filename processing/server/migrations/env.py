"""Alembic's environment: migrate the connection handed over by processing.server.migrate.

There is no alembic.ini and no URL here: the server opens the database (SQLite file or
PostgreSQL DSN) and passes its connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Several server nodes may start at once: one migrates, the others wait here and
        # then find nothing left to do.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7110001)")
    context.run_migrations()
