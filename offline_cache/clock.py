"""Time for the till database: injected, always UTC, stored as ISO-8601 text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A function returning the current time as an aware ``datetime``; injected for tests."""


def utc_now() -> datetime:
    """The system clock, in UTC."""
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """``moment`` as ISO-8601 UTC text (sortable); naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    """Parse text written by :func:`to_text`."""
    return datetime.fromisoformat(text)
