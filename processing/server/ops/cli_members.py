"""``till processing members import|export`` and ``catalog import``."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from loyalty.program import Program
from processing.amounts import from_minor
from processing.server.engine import Database
from processing.server.ops import csvfile
from processing.server.ops.common import (
    DB_OPTION,
    OPERATOR_OPTION,
    REASON_OPTION,
    now,
    operator_name,
    parse_day,
    read_from,
    reason_text,
    write_to,
)

PROGRESS_FROM = 5000
"""Files with at least this many rows get a progress bar (on stderr)."""

COLUMN_OPTION = click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="FIELD=HEADER",
    help="the file's header for one of our fields (repeat; default: the field's own name)",
)
ENCODING_OPTION = click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    help="the file's text encoding (1C often writes cp1251)",
)


def _rows(
    path: Path,
    fields: Sequence[str],
    required: Sequence[str],
    columns: Sequence[str],
    encoding: str,
) -> list[csvfile.Row]:
    try:
        mapping = csvfile.column_map(fields, columns)
        return csvfile.read_rows(path, mapping, required, encoding)
    except csvfile.CsvError as exc:
        raise click.ClickException(str(exc)) from None


class _Progress:
    """A progress bar on stderr for a large file (nothing for a small one)."""

    def __init__(self, total: int, label: str) -> None:
        self._bar = (
            click.progressbar(length=total, label=label, file=sys.stderr)
            if total >= PROGRESS_FROM
            else None
        )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def __call__(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)


def _rejections(path: Path, rejected: Sequence[csvfile.Rejected]) -> None:
    for item in rejected:
        click.echo(f"{path}: line {item.line}: {item.problem}", err=True)


@click.group()
def members() -> None:
    """Members: import from a CSV export, export as CSV."""


@members.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@COLUMN_OPTION
@ENCODING_OPTION
@click.option("--region", default="RU", show_default=True, help="phones without a country code")
@click.option(
    "--expires",
    "expires_on",
    default=None,
    help="date (YYYY-MM-DD, UTC) the opening balances expire; default: in the program's"
    " expiry days from today, never when the program has none",
)
@click.option("--store", "home_store", default=None, help="the imported members' home store")
@OPERATOR_OPTION
@DB_OPTION
def import_members(
    file: Path,
    columns: tuple[str, ...],
    encoding: str,
    region: str,
    expires_on: str | None,
    home_store: str | None,
    operator: str | None,
    db_path: str,
) -> None:
    """Add the members of a CSV (phone, name, birthday, email, cards, balance, lifetime_spend,
    state); phones already known are left as they are, so a second run changes nothing.
    Exits 1 when any row was rejected (each named by its line on stderr)."""
    from loyalty.phones import SUPPORTED_REGIONS
    from processing.server.ops.members_import import FIELDS, REQUIRED
    from processing.server.ops.members_import import import_members as run

    if region.upper() not in SUPPORTED_REGIONS:
        raise click.ClickException(f"--region {region!r} is not one of RU, UA, KZ.")
    who = operator_name(operator)
    started = time.perf_counter()
    rows = _rows(file, FIELDS, REQUIRED, columns, encoding)
    at = now()
    # The database first: a --db refused shows no progress bar.
    with write_to(db_path) as db, _Progress(len(rows), "Importing members") as progress:
        expires_at = _expiry(db, expires_on, at)
        result = run(
            db,
            rows,
            region=region.upper(),
            now=at,
            expires_at=expires_at,
            home_store=home_store,
            operator=who,
            source=file.name,
            progress=progress,
        )
    _rejections(file, result.rejected)
    points = format(from_minor(result.points), "f")
    click.echo(
        f"{result.rows} rows: {result.added} members added (opening balances {points} points),"
        f" {result.unchanged} already members (unchanged), {len(result.rejected)} rejected;"
        f" {time.perf_counter() - started:.1f} s."
    )
    if result.rejected:
        sys.exit(1)


def _expiry(db: Database, expires_on: str | None, at: int) -> int | None:
    """When opening balances expire: the given date, or the program's expiry from now."""
    if expires_on is not None:
        day = parse_day(expires_on, "--expires")
        moment = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        if moment <= at:
            raise click.ClickException(f"--expires {expires_on} is not in the future.")
        return moment
    program = _in_force(db, at)
    if program.expiry_days is None:
        return None
    return at + int(timedelta(days=program.expiry_days).total_seconds())


@members.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the CSV file to write (default: standard output)",
)
@DB_OPTION
def export_members(out: Path | None, db_path: str) -> None:
    """Write every member as CSV (the columns import reads, plus id and frozen)."""
    from processing.server.ops.members_export import export

    with read_from(db_path) as db:
        if out is None:
            count = export(db, sys.stdout, now())
        else:
            try:
                with out.open("w", encoding="utf-8", newline="") as handle:
                    count = export(db, handle, now())
            except OSError as exc:
                raise click.ClickException(f"Cannot write {out}: {exc.strerror}") from None
    if out is not None:
        click.echo(f"{count} members written to {out}.")


@click.group()
def catalog() -> None:
    """The product catalog: import from a CSV."""


@catalog.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@COLUMN_OPTION
@ENCODING_OPTION
@OPERATOR_OPTION
@DB_OPTION
def import_catalog(
    file: Path, columns: tuple[str, ...], encoding: str, operator: str | None, db_path: str
) -> None:
    """Add or update products from a CSV (sku, barcodes, name, category, price); tills get the
    changes with their next catalog delta. A second run changes nothing."""
    from processing.server.ops.catalog_import import FIELDS, REQUIRED
    from processing.server.ops.catalog_import import import_catalog as run

    who = operator_name(operator)
    started = time.perf_counter()
    rows = _rows(file, FIELDS, REQUIRED, columns, encoding)
    with write_to(db_path) as db, _Progress(len(rows), "Importing products") as progress:
        result = run(db, rows, now=now(), operator=who, source=file.name, progress=progress)
    _rejections(file, result.rejected)
    click.echo(
        f"{result.rows} rows: {result.added} products added, {result.updated} updated,"
        f" {result.unchanged} unchanged, {len(result.rejected)} rejected;"
        f" {time.perf_counter() - started:.1f} s."
    )
    if result.rejected:
        sys.exit(1)


def _in_force(db: Database, at: int) -> Program:
    from processing.server.context import NoProgram, version_in_force
    from processing.server.ops import programs

    try:
        today = datetime.fromtimestamp(at, UTC).date().isoformat()
        return programs.get(db, version_in_force(db, today)).program
    except (NoProgram, programs.VersionError):
        raise click.ClickException(
            "The database has no program; load one first (program load)."
        ) from None


@members.command()
@click.argument("member")
@click.option(
    "--points",
    required=True,
    help="points to credit (100) or debit (-50); at most two decimals",
)
@click.option(
    "--kind",
    type=click.Choice(["goodwill", "correction", "write_off"]),
    required=True,
    help="goodwill credits, write_off debits, correction either",
)
@REASON_OPTION
@OPERATOR_OPTION
@click.option("--region", default="RU", show_default=True, help="for a MEMBER given by phone")
@DB_OPTION
def adjust(
    member: str,
    points: str,
    kind: str,
    reason: str,
    operator: str | None,
    region: str,
    db_path: str,
) -> None:
    """Credit or debit a member's points by hand (MEMBER: id, card or phone), recorded in the
    ledger and the operator log with the reason and the operator's name."""
    from processing.server.ops import adjust as ops

    who, why = operator_name(operator), reason_text(reason)
    try:
        value = Decimal(points)
    except InvalidOperation:
        raise click.ClickException(f"--points {points!r} is not a number.") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise click.ClickException(f"--points {points!r} must have at most two decimals.")
    at = now()
    with write_to(db_path, ops.AdjustError) as db:
        member_id = ops.find_member(db, member, region.upper())
        done = ops.adjust(
            db, _in_force(db, at), member_id, value, kind, now=at, operator=who, reason=why
        )
    click.echo(
        f"Member {done.member_id}: {format(from_minor(done.points), '+f')} points ({kind});"
        f" available now {from_minor(done.available)}."
    )


@members.command()
@click.argument("member")
@click.argument("state", type=click.Choice(["active", "earn_only", "blocked"]))
@REASON_OPTION
@OPERATOR_OPTION
@click.option("--region", default="RU", show_default=True, help="for a MEMBER given by phone")
@DB_OPTION
def state(
    member: str, state: str, reason: str, operator: str | None, region: str, db_path: str
) -> None:
    """Set a member's state (active, earn_only: may earn but not spend, blocked) with the
    reason; the tills get it with their next member-cache delta."""
    from processing.server.ops import adjust as ops

    who, why = operator_name(operator), reason_text(reason)
    with write_to(db_path, ops.AdjustError) as db:
        member_id = ops.find_member(db, member, region.upper())
        before = ops.set_state(db, member_id, state, now=now(), operator=who, reason=why)
    click.echo(f"Member {member_id}: {before} → {state}.")
