"""The calculations this process answered lately, so a hold does not calculate its check again.

A till calculates a check, shows it, then holds it with the fingerprint of that answer. The
calculation is a pure function of what it read: the request (member, lines, spend, coupons),
the member's row, balance, open holds and offers, the program version (all in one row,
``holds._INPUTS``), the catalog's categories of the lines, the coupons usable, and the store's
calendar day. A hold that finds its fingerprint here, for the same request, and reads the very
same inputs on the same day gets the very same calculation: it is taken from here instead of
being worked out again (only the moment it was computed at is the hold's own). Anything that
differs — another process answered the calculation, a balance moved, midnight passed — and
the hold calculates afresh, as before.

Kept per process, most recent :data:`KEEP` only: a till holds within seconds of calculating.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal

from loyalty.check import Calculation
from processing import wire

KEEP = 1024
"""Calculations kept per process (a sale's hold follows its calculation within seconds)."""


@dataclass(frozen=True, slots=True)
class Preview:
    """One calculation answered, with everything it was a function of."""

    check_id: str
    member_id: str
    lines: list[wire.Line]
    requested_spend: Decimal
    coupons: tuple[str, ...]
    """The coupons the request presented."""
    inputs: tuple[object, ...]
    categories: dict[str, str]
    usable: list[str]
    """The presented coupons usable then."""
    day: date
    zone: tzinfo
    calc: Calculation
    answer: wire.Calculation

    def same(
        self,
        request: wire.CheckRequest,
        inputs: tuple[object, ...],
        categories: dict[str, str],
        usable: list[str],
        day: date,
        zone: tzinfo,
    ) -> bool:
        """True when ``request`` read these inputs on this day: the calculation is this one."""
        return (
            self.check_id == request.check_id
            and self.member_id == request.member_id
            and self.requested_spend == request.requested_spend
            and self.coupons == tuple(request.coupons)
            and self.day == day
            and self.zone == zone
            and self.inputs == inputs
            and self.categories == categories
            and self.usable == usable
            and self.lines == request.lines
        )


class Previews:
    """The latest calculations by check id and fingerprint (thread-safe)."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._by_fingerprint: OrderedDict[tuple[str, str], Preview] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, preview: Preview) -> None:
        with self._lock:
            key = (preview.check_id, preview.answer.fingerprint)
            self._by_fingerprint[key] = preview
            self._by_fingerprint.move_to_end(key)
            while len(self._by_fingerprint) > self._keep:
                self._by_fingerprint.popitem(last=False)

    def get(self, check_id: str, fingerprint: str) -> Preview | None:
        with self._lock:
            return self._by_fingerprint.get((check_id, fingerprint))
