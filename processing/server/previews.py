"""The calculations this process answered lately, so a hold does not calculate its check again.

A till calculates a check, shows it, then holds it with the fingerprint of that answer. The
calculation is a pure function of what it read: the request (member, lines, spend, coupons), the
member's row, balance, open holds and offers, the catalog's epoch (all in one row,
``hold_calculation._INPUTS``), the catalog's categories of the lines, the coupons usable, and
the store's calendar day. A hold that finds its fingerprint here, for the same request, and
reads the very same inputs on the same day gets the very same calculation: it is taken from here
instead of being worked out again (only the moment it was computed at is the hold's own).
Anything that differs — another process answered the calculation, a balance moved, midnight
passed — and the hold calculates afresh, as before.

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
from processing.server.pricing import answer_json

KEEP = 1024
"""Calculations kept per process (a sale's hold follows its calculation within seconds)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The figures of a calculation a hold decides on and stores."""

    fingerprint: str
    program_version: int
    total_amount: Decimal
    earn_total: Decimal
    spend_applied: Decimal
    available_points: Decimal
    code_required: bool
    coupons: tuple[str, ...]
    """The coupons the calculation used."""

    @classmethod
    def of(cls, calc: Calculation, fingerprint: str) -> Outcome:
        return cls(
            fingerprint,
            calc.program_version,
            calc.total_amount,
            calc.earn_total,
            calc.spend_applied,
            calc.available_points,
            calc.code_required,
            tuple(calc.coupons),
        )


_DETAIL = ',"detail":'
"""What precedes the core's record in a calculation's answer, its last field."""


@dataclass(frozen=True, slots=True)
class Answered:
    """A calculation as written out: the calculate route's answer, whose last field (the
    core's record) is also what a hold stores, at the moment ``computed_at`` (the only part a
    later moment changes), with the figures a hold needs."""

    outcome: Outcome
    computed_at: str
    """``detail.computed_at`` of the answer (ISO 8601)."""
    answer_json: str
    """The ``wire.Calculation`` answer as JSON text."""

    @classmethod
    def of(cls, check_id: str, calc: Calculation) -> Answered:
        """``calc`` answered for ``check_id`` (:func:`pricing.answer_json`)."""
        answer, fingerprint = answer_json(check_id, calc)
        return cls(Outcome.of(calc, fingerprint), calc.computed_at.isoformat(), answer)

    @property
    def record_json(self) -> str:
        """The core's record as a check row stores it: the answer's ``detail``, cut out of the
        answer rather than written out again (the first ``,"detail":`` is the field's: inside
        a JSON string a quote is written \\")."""
        return self.answer_json[self.answer_json.index(_DETAIL) + len(_DETAIL) : -1]

    def at(self, computed_at: str) -> Answered:
        """The same calculation computed at another moment."""
        if computed_at == self.computed_at:
            return self
        # An unescaped quote is a key's only where it is a key: inside a JSON string a quote
        # is written \\", so the pattern cannot match a line's name or a message.
        old, new = f'"computed_at":"{self.computed_at}"', f'"computed_at":"{computed_at}"'
        return Answered(self.outcome, computed_at, self.answer_json.replace(old, new, 1))


@dataclass(frozen=True, slots=True)
class Preview:
    """One calculation answered, with everything it was a function of.

    Only text, numbers and tuples of them, never the models and records the calculation was
    made of: a process keeps :data:`KEEP` of these, and the cyclic collector walks every
    container they hold on each of its full passes (a preview as models was ~150 of them,
    most of the heap, and collecting them was about a third of a calculate's CPU)."""

    check_id: str
    member_id: str
    lines_json: str
    """The request's lines (:func:`processing.server.checks.lines_json`)."""
    requested_spend: Decimal
    coupons: tuple[str, ...]
    """The coupons the request presented."""
    inputs: tuple[object, ...]
    categories: dict[str, str]
    usable: tuple[str, ...]
    """The presented coupons usable then."""
    day: date
    zone: tzinfo
    answered: Answered

    def same(
        self,
        request: wire.CheckRequest,
        lines_json: str,
        inputs: tuple[object, ...],
        categories: dict[str, str],
        usable: list[str],
        day: date,
        zone: tzinfo,
    ) -> bool:
        """True when ``request`` (its lines written as ``lines_json``) read these inputs on
        this day: the calculation is this one."""
        return (
            self.check_id == request.check_id
            and self.member_id == request.member_id
            and self.requested_spend == request.requested_spend
            and self.coupons == tuple(request.coupons)
            and self.day == day
            and self.zone == zone
            and self.inputs == inputs
            and self.categories == categories
            and self.usable == tuple(usable)
            and self.lines_json == lines_json
        )


class Previews:
    """The latest calculations by check id and fingerprint (thread-safe)."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._by_fingerprint: OrderedDict[tuple[str, str], Preview] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, preview: Preview) -> None:
        with self._lock:
            key = (preview.check_id, preview.answered.outcome.fingerprint)
            self._by_fingerprint[key] = preview
            self._by_fingerprint.move_to_end(key)
            while len(self._by_fingerprint) > self._keep:
                self._by_fingerprint.popitem(last=False)

    def has(self, check_id: str, fingerprint: str) -> bool:
        with self._lock:
            return (check_id, fingerprint) in self._by_fingerprint

    def get(self, check_id: str, fingerprint: str) -> Preview | None:
        with self._lock:
            return self._by_fingerprint.get((check_id, fingerprint))
