"""What every operator command shares: the ``--db`` option, opening the database (and a
transaction on it), the clock and the operator's name.

Errors are one line and a non-zero exit (click's ``Error:`` line); never a traceback.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import click

from processing.server import zones
from processing.server.engine import Database, StorageEngine, is_postgres
from processing.server.storage import StorageError

DB_OPTION = click.option(
    "--db",
    "db_path",
    default="processing.db",
    show_default=True,
    help="the server's database: an SQLite file, or postgresql://user@host:port/dbname",
)

OPERATOR_OPTION = click.option(
    "--operator",
    default=None,
    help="who does this (kept with the change); default: this machine's user name",
)

REASON_OPTION = click.option(
    "--reason", required=True, help="why (kept with the change, shown in the books)"
)


def open_storage(db_path: str | Path, *, must_exist: bool = True) -> StorageEngine:
    """The server database ``--db`` names (migrated); a missing SQLite file is refused unless
    the command creates one."""
    from processing.server.engine import open_storage as open_engine

    if is_postgres(db_path):
        target: str | Path = str(db_path)
    else:
        target = Path(db_path)
        if must_exist and not target.exists():
            raise click.ClickException(f"{target} does not exist; give the server's --db.")
    try:
        return open_engine(target)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None


def write_to(
    db_path: str | Path, *refused: type[Exception], must_exist: bool = True
) -> AbstractContextManager[Database]:
    """One write transaction on the database ``--db`` names (see :func:`open_storage`),
    committed when the block ends, rolled back on any error; the domain errors of the types
    ``refused`` become one ``Error:`` line and exit 1; the storage is closed either way."""
    return _transaction(db_path, refused, must_exist, write=True)


def read_from(
    db_path: str | Path, *refused: type[Exception], must_exist: bool = True
) -> AbstractContextManager[Database]:
    """One read snapshot of the database ``--db`` names, as :func:`write_to` but writing
    nothing."""
    return _transaction(db_path, refused, must_exist, write=False)


@contextmanager
def _transaction(
    db_path: str | Path,
    refused: tuple[type[Exception], ...],
    must_exist: bool,
    write: bool,
) -> Iterator[Database]:
    storage = open_storage(db_path, must_exist=must_exist)
    # Only the named domain errors become a line: click's own pass as they are, the
    # database's reach ops.cli's guard, and anything else is a bug that keeps its traceback.
    try:
        with storage.write() if write else storage.read() as db:
            yield db
    except refused as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        storage.close()


def now() -> int:
    return int(datetime.now(UTC).timestamp())


def operator_name(given: str | None) -> str:
    """The operator's name: ``given``, else this machine's user; never empty."""
    name = (given or "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (OSError, KeyError):
            name = ""
    if not name:
        raise click.ClickException("Say who you are with --operator NAME.")
    return name


def reason_text(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise click.ClickException("--reason must not be empty.")
    return text


def earliest_today(db: Database, at: int) -> date:
    """The earliest local date at ``at`` among UTC and the stores' timezones: a day still
    running somewhere in the chain."""
    days = [datetime.fromtimestamp(at, UTC).date()]
    for (name,) in db.execute("SELECT DISTINCT timezone FROM stores").fetchall():
        days.append(datetime.fromtimestamp(at, zones.stored(name, UTC)).date())
    return min(days)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(f"{option} {text!r} is not a date like 2027-01-31.") from None
