"""The storage seam: one set of Alembic migrations for SQLite and PostgreSQL, SQLite files made
before Alembic, the PostgreSQL adapter's translation, and what an operator sees when the
database cannot be reached or has a schema this code does not know."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from processing.server.cli import processing
from processing.server.migrate import HEAD, script_head, upgrade
from processing.server.pg import PgStorage
from processing.server.pg_dialect import translate
from processing.server.storage import Storage, StorageError
from processing.server.testing import RunningServer
from processing.server.testing_pg import Cluster

LEGACY = [
    "m001_initial",
    "m002_hot_indexes",
    "m003_claims",
    "m004_store_timezones",
    "m005_code_limits",
    "m006_idempotency_retention",
    "m007_member_scope",
    "m008_operator",
    "m009_operator_keys",
    "m010_segment_offers",
]


@pytest.fixture
def dsn(postgres: tuple[Cluster, str]) -> Iterator[str]:
    cluster, template = postgres
    target = cluster.create(template)
    try:
        yield target
    finally:
        cluster.drop(target)


def test_head_names_the_newest_migration_script() -> None:
    assert script_head() == HEAD


def _legacy_file(path: Path, applied: int) -> None:
    """An SQLite file as sqlite-utils migrations left it after ``applied`` migrations."""
    upgrade(f"sqlite:///{path}", to=f"{applied:04d}")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP TABLE alembic_version")
        conn.execute(
            "CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT,"
            " name TEXT, applied_at TEXT)"
        )
        conn.executemany(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, '')",
            [("till-processing", name) for name in LEGACY[:applied]],
        )
        conn.execute("INSERT INTO settings (key, value) VALUES ('kept', 'yes')")
        conn.commit()


@pytest.mark.parametrize("applied", [5, len(LEGACY)])
def test_a_file_made_before_alembic_is_stamped_then_upgraded(tmp_path: Path, applied: int) -> None:
    path = tmp_path / "old.db"
    _legacy_file(path, applied)
    storage = Storage(path)
    try:
        db = storage.db()
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"checks_member_store", "idempotency_created"} <= indexes
        assert db.execute("SELECT COUNT(*) FROM operator_log").fetchone()[0] == 0
        assert db.execute("SELECT value FROM settings WHERE key = 'kept'").fetchone()[0] == "yes"
    finally:
        storage.close()


def test_a_schema_newer_than_this_code_is_refused_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Storage(path).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
        conn.commit()
    with pytest.raises(StorageError) as refused:
        Storage(path)
    assert str(refused.value) == (
        f"{path} is at schema revision 0099, newer than this version of till knows;"
        " upgrade till on this machine."
    )


def test_postgres_schema_is_the_same_tables(dsn: str, tmp_path: Path) -> None:
    sqlite_path = tmp_path / "same.db"
    Storage(sqlite_path).close()
    with closing(sqlite3.connect(sqlite_path)) as conn:
        lite = {
            (str(t), str(c[1]))
            for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for c in conn.execute(f"PRAGMA table_info({t})")
        }
    with psycopg.connect(dsn) as conn:
        pg = {
            (str(t), str(c))
            for t, c in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public'"
            )
        }
    assert lite == pg


def test_unknown_postgres_schema_is_refused_and_health_says_why(dsn: str) -> None:
    storage = PgStorage(dsn, pool_size=2)
    try:
        assert storage.health() == "ok"
        with storage.write() as db:
            db.execute("UPDATE alembic_version SET version_num = '0006'")
        assert storage.health().endswith(f"is at schema revision 0006; this server needs {HEAD}.")
    finally:
        storage.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(StorageError, match=r"newer than this version of till knows"):
        PgStorage(dsn)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_database_is_one_line_from_every_command() -> None:
    dsn = f"postgresql://till@127.0.0.1:{_closed_port()}/chain"
    runner = CliRunner()
    for args in (
        ["seed", "--db", dsn],
        ["add-till", "--db", dsn, "--store", "S1", "--till", "T1"],
        ["codes", "--db", dsn],
        ["migrate", "--db", dsn],
        ["serve", "--db", dsn, "--demo"],
    ):
        result = runner.invoke(processing, args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: Cannot reach PostgreSQL chain at"), (
            args,
            result.output,
        )
        assert "Traceback" not in result.output


def test_operator_commands_run_on_postgres(dsn: str) -> None:
    runner = CliRunner()
    seeded = runner.invoke(processing, ["seed", "--db", dsn, "--demo"])
    assert seeded.exit_code == 0, seeded.output
    added = runner.invoke(processing, ["add-till", "--db", dsn, "--store", "S9", "--till", "T1"])
    assert added.exit_code == 0 and added.output.startswith("till_"), added.output
    migrated = runner.invoke(processing, ["migrate", "--db", dsn])
    assert migrated.exit_code == 0 and migrated.output.endswith(f"revision {HEAD}\n")
    codes = runner.invoke(processing, ["codes", "--db", dsn])
    assert codes.exit_code == 0 and codes.output == "No codes sent yet.\n"
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM tills WHERE store_id = 'S9'").fetchone()
        assert row is not None and row[0] == 1


def test_health_names_the_engine(server: RunningServer) -> None:
    answer = httpx.get(f"{server.url}/v1/health").json()
    assert answer["database"] == "ok"
    assert answer["engine"] == server.ctx.storage.engine
    assert answer["program_version"] is not None


@pytest.mark.parametrize(
    ("sql", "expected", "numbered"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s", False),
        (
            "SELECT '?' , x FROM t WHERE y LIKE '+7%' AND z = ?",
            "SELECT '?' , x FROM t WHERE y LIKE '+7%%' AND z = %s",
            False,
        ),
        ("SELECT ?1 + ?2 + ?1", "SELECT %(p1)s + %(p2)s + %(p1)s", True),
        (
            "SELECT group_concat(id, char(31)), MAX(0, x - ?)",
            "SELECT string_agg(id, chr(31)), GREATEST(0, x - %s)",
            False,
        ),
    ],
)
def test_translate_turns_sqlite_placeholders_into_psycopg(
    sql: str, expected: str, numbered: bool
) -> None:
    assert translate(sql) == (expected, numbered)
