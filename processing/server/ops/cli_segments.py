"""What ``offers add`` and ``coupons issue`` share: the segment options (``--tier``,
``--birthday``, ``--phones``, ``--not-bought-days``, ``--region``) read into one
:class:`~processing.server.ops.offers.Segment`, and the listing of what is still current.

The options are declared once here so the two commands cannot drift apart (a segment reaches
the same members whichever command names it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from processing.server.ops.common import earliest_today, now, read_from

if TYPE_CHECKING:
    from processing.server.engine import Database
    from processing.server.ops.offers import Segment

Row = TypeVar("Row")

_OPTIONS = (
    click.option("--tier", default=None, help="members of this tier (by lifetime spend)"),
    click.option("--birthday", is_flag=True, help="members whose birthday is on one of its days"),
    click.option(
        "--phones",
        "phones_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="members with a phone in this file (one a line)",
    ),
    click.option(
        "--not-bought-days",
        type=click.IntRange(1, 3650),
        default=None,
        help="members with no purchase in this many days",
    ),
    click.option("--region", default="RU", show_default=True, help="for phones without a code"),
)


@dataclass
class SegmentChoice:
    """The segment options as given; :meth:`read` makes the segment of them."""

    tier: str | None
    birthday: bool
    phones_file: Path | None
    not_bought_days: int | None
    region: str
    rejected: int = 0
    """Lines of the phones file that were not phones (set by :meth:`read`)."""

    def read(self) -> Segment:
        """The segment, with the phones file read (each bad line named on stderr and counted
        in :attr:`rejected`). Raises ClickException for an unknown region or a file that
        cannot be read."""
        from loyalty.phones import SUPPORTED_REGIONS
        from processing.server.ops.offers import Segment, read_phones

        region = self.region.upper()
        if region not in SUPPORTED_REGIONS:
            raise click.ClickException(f"--region {self.region!r} is not one of RU, UA, KZ.")
        phones: tuple[str, ...] | None = None
        if self.phones_file is not None:
            try:
                text = self.phones_file.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise click.ClickException(f"Cannot read {self.phones_file}: {exc}") from None
            found = read_phones(text, region)
            for bad in found.rejected:
                click.echo(f"{self.phones_file}: line {bad.line}: {bad.problem}", err=True)
            self.rejected = len(found.rejected)
            phones = tuple(found.phones)
        return Segment(
            tier=self.tier,
            birthday=self.birthday,
            phones=phones,
            not_bought_days=self.not_bought_days,
        )


def segment_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the segment options to a click command, handed to it as ``segment_choice`` (a
    :class:`SegmentChoice`)."""

    @functools.wraps(command)
    def run(
        *args: Any,
        tier: str | None,
        birthday: bool,
        phones_file: Path | None,
        not_bought_days: int | None,
        region: str,
        **kwargs: Any,
    ) -> None:
        choice = SegmentChoice(tier, birthday, phones_file, not_bought_days, region)
        command(*args, segment_choice=choice, **kwargs)

    for option in reversed(_OPTIONS):
        run = option(run)
    return run


def current(
    db_path: Path, everything: bool, listed: Callable[[Database, date | None], Sequence[Row]]
) -> Sequence[Row]:
    """``listed(db, today)``: the rows still current in every store's calendar, or with
    ``everything`` all of them (``today`` None)."""
    with read_from(db_path) as db:
        return listed(db, None if everything else earliest_today(db, now()))
