"""``till processing offers add|list|end``: personal offers to a segment of members."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from processing.server.ops.cli_segments import SegmentChoice, current, segment_options
from processing.server.ops.common import (
    DB_OPTION,
    OPERATOR_OPTION,
    REASON_OPTION,
    earliest_today,
    now,
    operator_name,
    parse_day,
    reason_text,
    write_to,
)


@click.group()
def offers() -> None:
    """Personal offers to a segment (tier, birthday, a phone list, lapsed buyers), with dates;
    shown at identification on their days."""


@offers.command()
@click.argument("offer_id")
@click.option("--title", required=True, help="what the cashier reads at identification")
@click.option("--description", default="", help="more words for the cashier")
@click.option("--from", "from_day", default=None, help="first day (YYYY-MM-DD); default: today")
@click.option("--to", "to_day", required=True, help="last day, included (YYYY-MM-DD)")
@click.option("--auto-apply", is_flag=True, help="the till applies it without asking")
@segment_options
@REASON_OPTION
@OPERATOR_OPTION
@DB_OPTION
def add(
    offer_id: str,
    title: str,
    description: str,
    from_day: str | None,
    to_day: str,
    auto_apply: bool,
    segment_choice: SegmentChoice,
    reason: str,
    operator: str | None,
    db_path: Path,
) -> None:
    """Give offer OFFER_ID to every member of the segment (all conditions given must hold).
    OFFER_ID is the promo_id of a personal promotion, or any id for an offer only shown.
    Adding it again adds only members not holding it yet. Exits 1 when a phone line was bad."""
    from processing.server.ops import offers as ops
    from processing.server.ops.cli_members import _in_force

    who, why = operator_name(operator), reason_text(reason)
    segment = segment_choice.read()
    end_day = parse_day(to_day, "--to")
    at = now()
    with write_to(db_path, ops.OfferError) as db:
        start = earliest_today(db, at) if from_day is None else parse_day(from_day, "--from")
        program = _in_force(db, at)
        done = ops.add(
            db, program, offer_id, title=title, description=description, start=start,
            end=end_day, auto_apply=auto_apply, segment=segment, now=at, operator=who,
            reason=why,
        )  # fmt: skip
        personal = any(p.personal and p.promo_id == offer_id for p in program.promotions)
    click.echo(
        f"Offer {offer_id.strip()}: given to {done.members} members"
        f" ({done.already} held it already), shown {start} to {end_day}."
    )
    if not personal:
        click.echo(
            f"The program has no personal promotion {offer_id.strip()!r}: the offer is shown,"
            " it changes no check.",
            err=True,
        )
    if segment_choice.rejected:
        sys.exit(1)


@offers.command("list")
@click.option("--all", "everything", is_flag=True, help="offers already over too")
@DB_OPTION
def list_offers(everything: bool, db_path: Path) -> None:
    """Each offer: its dates, how many members hold it, its title."""
    from processing.server.ops import offers as ops

    rows = current(db_path, everything, ops.listed)
    if not rows:
        click.echo("No offers." if everything else "No current offers.")
    for r in rows:
        auto = " auto" if r.auto_apply else ""
        click.echo(
            f"{r.id:<24} {r.valid_from or '-'} … {r.valid_to or '-'} {r.members:>7} members"
            f"{auto}  {r.title}"
        )


@offers.command()
@click.argument("offer_id")
@REASON_OPTION
@OPERATOR_OPTION
@DB_OPTION
def end(offer_id: str, reason: str, operator: str | None, db_path: Path) -> None:
    """End an offer now: taken from every member (identification and pricing stop at once)."""
    from processing.server.ops import offers as ops

    who, why = operator_name(operator), reason_text(reason)
    with write_to(db_path, ops.OfferError) as db:
        count = ops.end(db, offer_id, now=now(), operator=who, reason=why)
    click.echo(f"Offer {offer_id}: ended for {count} members.")
