"""What every operator command shares: the ``--db`` option, opening the database, the clock
and the operator's name.

Errors are one line and a non-zero exit (click's ``Error:`` line); never a traceback.
"""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime
from pathlib import Path

import click
from sqlite_utils import Database

from processing.server import zones
from processing.server.storage import Storage, StorageError

DB_OPTION = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("processing.db"),
    show_default=True,
    help="the server's SQLite database",
)

OPERATOR_OPTION = click.option(
    "--operator",
    default=None,
    help="who does this (kept with the change); default: this machine's user name",
)

REASON_OPTION = click.option(
    "--reason", required=True, help="why (kept with the change, shown in the books)"
)


def open_storage(db_path: Path, *, must_exist: bool = True) -> Storage:
    """The server database at ``db_path`` (migrated); a missing file is refused unless the
    command creates one."""
    if must_exist and not db_path.exists():
        raise click.ClickException(f"{db_path} does not exist; give the server's --db.")
    try:
        return Storage(db_path)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None


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
