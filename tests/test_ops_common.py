"""The block every operator command shares (``write_to`` / ``read_from``): a refused domain
error is one ``Error:`` line and exit 1, anything else keeps its traceback, and the storage is
closed either way (a real SQLite file; the command is a small one written here)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from processing.server.cli import processing
from processing.server.engine import Database
from processing.server.ops.common import DB_OPTION, read_from, write_to
from processing.server.storage import get_setting, set_setting


class Refused(Exception):
    """A domain error the command names as refused."""


seen: list[Database] = []
"""The Database each run of ``poke`` was handed, to see afterwards that it was closed."""


@click.command()
@click.argument("fail", type=click.Choice(["none", "refused", "bug"]))
@DB_OPTION
def poke(fail: str, db_path: str) -> None:
    with write_to(db_path, Refused) as db:
        seen.append(db)
        set_setting(db, "poked", fail)
        if fail == "refused":
            raise Refused("The poke is refused.")
        if fail == "bug":
            raise KeyError("a bug")
    click.echo("poked")


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    path = tmp_path / "processing.db"
    made = CliRunner().invoke(processing, ["migrate", "--db", str(path)])
    assert made.exit_code == 0, made.output
    seen.clear()
    return str(path)


def _poke(fail: str, db_path: str) -> Result:
    return CliRunner().invoke(poke, [fail, "--db", db_path])


def _poked(db_path: str) -> str | None:
    with read_from(db_path) as db:
        return get_setting(db, "poked")


def _closed(db: Database) -> bool:
    try:
        db.conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return True
    return False


def test_a_refused_error_is_one_line_exit_1_rolled_back_and_closed(db_path: str) -> None:
    result = _poke("refused", db_path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: The poke is refused.\n"
    assert _poked(db_path) is None  # the write was rolled back
    assert len(seen) == 1 and _closed(seen[0])


def test_an_unexpected_error_is_not_swallowed_and_the_storage_is_closed(db_path: str) -> None:
    result = _poke("bug", db_path)
    assert isinstance(result.exception, KeyError)  # the traceback's exception, not an Error line
    assert "Error:" not in result.output
    assert _poked(db_path) is None
    assert len(seen) == 1 and _closed(seen[0])


def test_a_clean_block_commits_and_closes(db_path: str) -> None:
    result = _poke("none", db_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "poked\n"
    assert _poked(db_path) == "none"
    assert len(seen) == 1 and _closed(seen[0])


def test_a_missing_database_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = _poke("none", str(missing))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing} does not exist; give the server's --db.\n"
    assert not missing.exists()


def test_a_real_command_refusal_is_the_same_line(db_path: str) -> None:
    result = CliRunner().invoke(processing, ["operators", "revoke", "nobody", "--db", db_path])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
