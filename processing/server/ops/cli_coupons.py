"""``till processing coupons issue|list|cancel``: coupons issued to members."""

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
def coupons() -> None:
    """Coupons issued to members (a code each, or one shared code with a use limit), each
    unlocking a coupon promotion of the program once per member."""


@coupons.command()
@click.argument("promo_id")
@click.option("--member", "member_id", default=None, help="this one member (by id)")
@segment_options
@click.option("--code", "shared", default=None, help="one shared code for all (with --limit)")
@click.option(
    "--limit", type=click.IntRange(1, 10_000_000), default=None, help="uses of the shared code"
)
@click.option("--from", "from_day", default=None, help="first day (YYYY-MM-DD); default: today")
@click.option("--to", "to_day", required=True, help="last day, included (YYYY-MM-DD)")
@REASON_OPTION
@OPERATOR_OPTION
@DB_OPTION
def issue(
    promo_id: str,
    member_id: str | None,
    segment_choice: SegmentChoice,
    shared: str | None,
    limit: int | None,
    from_day: str | None,
    to_day: str,
    reason: str,
    operator: str | None,
    db_path: Path,
) -> None:
    """Issue the coupon of promotion PROMO_ID (one asking for a coupon) to --member or to
    the segment (all segment conditions given must hold): a unique code each, or the --code
    shared by all with --limit uses in all. Exits 1 when a phone line was bad."""
    from processing.server.ops import coupons as ops
    from processing.server.ops.cli_members import _in_force

    who, why = operator_name(operator), reason_text(reason)
    segment = segment_choice.read()
    if member_id is not None and not segment.empty():
        raise click.ClickException("Give either --member or a segment, not both.")
    end_day = parse_day(to_day, "--to")
    at = now()
    with write_to(db_path, ops.CouponError) as db:
        start = earliest_today(db, at) if from_day is None else parse_day(from_day, "--from")
        done = ops.issue(
            db, _in_force(db, at), promo_id.strip(), member_id=member_id, segment=segment,
            shared=shared, limit=limit, start=start, end=end_day, now=at, operator=who,
            reason=why,
        )  # fmt: skip
    how = f"code {shared.strip().upper()}, {limit} uses" if shared and limit else "a code each"
    click.echo(
        f"Coupon {promo_id.strip()}: issued to {done.members} members ({how};"
        f" {done.already} held one already), valid {start} to {end_day}."
    )
    if segment_choice.rejected:
        sys.exit(1)


@coupons.command("list")
@click.option("--all", "everything", is_flag=True, help="codes over or cancelled too")
@DB_OPTION
def list_coupons(everything: bool, db_path: Path) -> None:
    """Each code: its dates, holders, uses (of its limit), open holds, its title."""
    from processing.server.ops import coupons as ops

    at = now()  # open holds are counted as of this moment
    rows = current(db_path, everything, lambda db, today: ops.listed(db, today, at=at))
    if not rows:
        click.echo("No coupons." if everything else "No current coupons.")
    for r in rows:
        uses = f"{r.used}/{r.limit}" if r.limit is not None else f"{r.used}"
        # A reservation is not a use: the hold may still be cancelled or run out.
        held = f", {r.reserved} in open holds" if r.reserved else ""
        gone = " cancelled" if r.cancelled else ""
        click.echo(
            f"{r.code:<20} {r.valid_from or '-'} … {r.valid_to or '-'} {r.holders:>7} holders"
            f" {uses:>9} used{held}{gone}  {r.title}"
        )


@coupons.command()
@click.argument("code")
@REASON_OPTION
@OPERATOR_OPTION
@DB_OPTION
def cancel(code: str, reason: str, operator: str | None, db_path: Path) -> None:
    """Cancel CODE for all its holders now (a check that used it keeps it)."""
    from processing.server.ops import coupons as ops

    who, why = operator_name(operator), reason_text(reason)
    with write_to(db_path, ops.CouponError) as db:
        count = ops.cancel(db, code, now=now(), operator=who, reason=why)
    click.echo(f"Coupon {code.strip().upper()}: cancelled for {count} holders.")
