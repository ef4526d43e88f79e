"""``till processing audit``, ``report liability|movements``, ``conflicts list|resolve``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import click

from processing.amounts import from_minor
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


@click.command()
@DB_OPTION
def audit(db_path: str) -> None:
    """Check the ledger's invariants; print every break, exit 1 when there is one."""
    from processing.server.ops import audit as books

    with read_from(db_path) as db:
        result = books.run(db)
    for line in result.breaks:
        click.echo(line)
    if result.breaks:
        click.echo(f"{len(result.breaks)} breaks in the ledger.", err=True)
        sys.exit(1)
    click.echo(
        f"The ledger is sound: {result.members} members, {result.lots} lots,"
        f" {result.movements} movements, {result.checks} checks."
    )


def _output(out: Path | None) -> Iterator[TextIO]:
    """Standard output, or the file ``out`` (its write errors as one line)."""
    if out is None:
        yield sys.stdout
        return
    try:
        with out.open("w", encoding="utf-8", newline="") as handle:
            yield handle
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror}") from None


OUT_OPTION = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the CSV file to write (default: standard output)",
)


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@click.group()
def report() -> None:
    """Reports for the accountant, as CSV."""


@report.command()
@click.option(
    "--at",
    "at_day",
    default=None,
    help="the liability at the end of this day (YYYY-MM-DD, UTC); default: now",
)
@OUT_OPTION
@DB_OPTION
def liability(at_day: str | None, out: Path | None, db_path: str) -> None:
    """Points outstanding per store (issuing store; imported points: the home store), active
    and frozen, and their value in the program's currency."""
    from processing.server.context import NoProgram, version_in_force
    from processing.server.ops import programs, reports

    at = now() if at_day is None else _midnight(parse_day(at_day, "--at") + timedelta(days=1))
    with read_from(db_path) as db:
        try:
            day = datetime.fromtimestamp(at, UTC).date().isoformat()
            currency = programs.get(db, version_in_force(db, day)).program.currency
        except (NoProgram, programs.VersionError):
            raise click.ClickException("The database has no program.") from None
        for handle in _output(out):
            reports.liability(db, at, currency, handle)


@report.command()
@click.option("--from", "from_day", required=True, help="first day (YYYY-MM-DD, UTC)")
@click.option("--to", "to_day", required=True, help="last day, included (YYYY-MM-DD, UTC)")
@click.option("--with-holds", is_flag=True, help="also the reservations (hold, release)")
@OUT_OPTION
@DB_OPTION
def movements(from_day: str, to_day: str, with_holds: bool, out: Path | None, db_path: str) -> None:
    """Every points movement of the days FROM to TO: earn, spend, expire, reverse, adjust."""
    from processing.server.ops import reports

    start_day, end_day = parse_day(from_day, "--from"), parse_day(to_day, "--to")
    if end_day < start_day:
        raise click.ClickException("--to is before --from.")
    with read_from(db_path) as db:
        for handle in _output(out):
            reports.write_movements(
                db, _midnight(start_day), _midnight(end_day + timedelta(days=1)),
                with_holds, handle,
            )  # fmt: skip


@click.group()
def conflicts() -> None:
    """What tills did that the program or the balance did not allow: list and resolve."""


@conflicts.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="resolved ones too")
@DB_OPTION
def list_conflicts(include_resolved: bool, db_path: str) -> None:
    """Open conflicts (with --all, resolved ones too), oldest first."""
    from processing.server.ops import conflicts as ops

    with read_from(db_path) as db:
        rows = ops.listed(db, include_resolved=include_resolved)
    if not rows:
        click.echo("No conflicts." if include_resolved else "No open conflicts.")
    for c in rows:
        at = datetime.fromtimestamp(c.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        facts = ", ".join(f"{k} {v}" for k, v in c.details.items())
        state = "open" if c.resolved_at is None else f"resolved by {c.resolved_by}"
        click.echo(
            f"#{c.id} {at} {c.kind} check {c.check_id} member {c.member_id}: {facts} [{state}]"
        )


@conflicts.command()
@click.argument("conflict_id", type=int)
@click.option(
    "--debit",
    is_flag=True,
    help="take the shortfall from the member's available points now (as far as they go);"
    " without it the shortfall is accepted as the chain's loss",
)
@REASON_OPTION
@OPERATOR_OPTION
@DB_OPTION
def resolve(conflict_id: int, debit: bool, reason: str, operator: str | None, db_path: str) -> None:
    """Resolve a conflict, recording who and why."""
    from processing.server.ops import conflicts as ops

    who, why = operator_name(operator), reason_text(reason)
    with write_to(db_path, ops.ConflictError) as db:
        conflict, debited = ops.resolve(
            db, conflict_id, debit=debit, now=now(), operator=who, reason=why
        )
    taken = f"; {from_minor(debited)} points debited from member {conflict.member_id}"
    click.echo(f"Conflict {conflict_id} resolved by {who}{taken if debit else ''}.")
