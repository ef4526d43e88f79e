"""Coupons issued to members: issue, list, cancel.

A coupon unlocks a promotion of the program that asks for a coupon (``coupon = "…"``): the
row's ``unlocks`` is that promotion's coupon string, so the core, which knows one string per
promotion, applies it to whichever member's code was presented (processing.server.pricing).

Issued either one unique code per member (single use each) or one shared code for the whole
segment with a limit of uses across it (still once per member). Every row has an owner, so a
code presented by anyone else unlocks nothing. Cancelling takes the code's unused rows out of
use at once (the rows stay, for the books); both are written to ``operator_log``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

from loyalty.program import Program, Promotion
from loyalty.rules import normalize_coupon
from processing.server.engine import Database
from processing.server.ops.offers import OfferError, Segment, _log, segment_members

# No letters and digits a cashier confuses when typing a code off a phone (O/0, I/1, L).
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10
# What a till classifies as a typed coupon (loyalty.identifiers).
_CODE_RE = re.compile(r"(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{4,20}")


class CouponError(Exception):
    """A promotion, segment or code the server refuses; one sentence."""


@dataclass(frozen=True)
class Issued:
    members: int
    """Members given a code now."""
    already: int
    """Members of the segment holding a code of this promotion already."""


def _promotion(program: Program, promo_id: str) -> Promotion:
    for promo in program.promotions:
        if promo.promo_id == promo_id and promo.coupon is not None:
            return promo
    names = ", ".join(sorted(p.promo_id for p in program.promotions if p.coupon)) or "none"
    raise CouponError(
        f"The program has no promotion {promo_id!r} asking for a coupon; those that do: {names}."
    )


def _new_code(db: Database) -> str:
    while True:
        body = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH - 1))
        code = body + secrets.choice("23456789")  # a digit: tills classify it as a coupon
        if db.execute("SELECT 1 FROM coupons WHERE code = ?", [code]).fetchone() is None:
            return code


def issue(
    db: Database,
    program: Program,
    promo_id: str,
    *,
    member_id: str | None,
    segment: Segment | None,
    shared: str | None,
    limit: int | None,
    start: date,
    end: date,
    now: int,
    operator: str,
    reason: str,
) -> Issued:
    """Give the coupon of promotion ``promo_id`` to one member or a segment: a unique code
    each, or the ``shared`` code with ``limit`` uses in all. Members already holding a code
    of this promotion (unused, not cancelled) are left as they are."""
    promo = _promotion(program, promo_id)
    if end < start:
        raise CouponError("--to is before --from.")
    if (shared is None) != (limit is None):
        raise CouponError("A shared code needs both --code and --limit.")
    if shared is not None:
        shared = normalize_coupon(shared)
        if not _CODE_RE.fullmatch(shared):
            raise CouponError(
                "A coupon code is 4 to 20 Latin letters and digits, with at least one of each."
            )
        taken = db.execute(
            "SELECT 1 FROM coupons WHERE code = ? AND COALESCE(unlocks, code) != ?",
            [shared, normalize_coupon(promo.coupon or "")],
        ).fetchone()
        if taken is not None:
            raise CouponError(f"The code {shared} is already used for another promotion.")
    if member_id is not None:
        state = db.execute("SELECT state FROM members WHERE id = ?", [member_id]).fetchone()
        if state is None:
            raise CouponError(f"There is no member {member_id}.")
        if state[0] == "blocked":
            raise CouponError(f"Member {member_id} is blocked.")
        members = [member_id]
    else:
        try:
            members = segment_members(db, program, segment or Segment(), start, end, now)
        except OfferError as exc:
            raise CouponError(str(exc)) from None
    unlocks = normalize_coupon(promo.coupon or "")
    holding = {
        str(r[0])
        for r in db.execute(
            "SELECT member_id FROM coupons WHERE unlocks = ? AND member_id IS NOT NULL"
            " AND used_check_id IS NULL AND cancelled_at IS NULL",
            [unlocks],
        ).fetchall()
    }
    fresh = [m for m in members if m not in holding]
    for member in fresh:
        db.execute(
            "INSERT INTO coupons (code, member_id, title, kind, value, valid_from, valid_to,"
            " unlocks, use_limit) VALUES (?, ?, ?, 'promotion', 0, ?, ?, ?, ?)",
            [shared or _new_code(db), member, promo.name, start.isoformat(), end.isoformat(),
             unlocks, limit],
        )  # fmt: skip
    if fresh:
        details: dict[str, object] = {
            "members": len(fresh),
            "from": start.isoformat(),
            "to": end.isoformat(),
        }
        if shared is not None:
            details.update(code=shared, limit=limit)
        _log(db, now, operator, "coupon_issue", promo_id, reason, details)
    return Issued(len(fresh), len(members) - len(fresh))


@dataclass(frozen=True)
class CouponRow:
    code: str
    title: str
    valid_from: str | None
    valid_to: str | None
    holders: int
    used: int
    """Rows a confirmed (or replayed) check used."""
    limit: int | None
    cancelled: bool
    reserved: int
    """Rows an open, unexpired hold has reserved: not used yet, and given back if the hold is
    cancelled or runs out (a hold that ran out and is not swept yet counts as neither)."""


def listed(db: Database, today: date | None, *, at: int) -> list[CouponRow]:
    """Every code with its holders, uses and open holds' reservations at ``at`` (unix
    seconds), by code (``today``: only those not over, not cancelled)."""
    rows = db.execute(
        "SELECT c.code, MIN(c.title), MIN(c.valid_from), MAX(c.valid_to), COUNT(*),"
        " COUNT(c.used_check_id) - COUNT(CASE WHEN k.status = 'held' THEN 1 END),"
        " MAX(c.use_limit),"
        " COUNT(*) = COUNT(c.cancelled_at),"
        " COUNT(CASE WHEN k.status = 'held' AND k.hold_expires_at > ?2 THEN 1 END)"
        " FROM coupons c LEFT JOIN checks k ON k.id = c.used_check_id GROUP BY c.code"
        " HAVING CAST(?1 AS TEXT) IS NULL OR ((MAX(c.valid_to) IS NULL"
        " OR MAX(c.valid_to) >= ?1) AND COUNT(c.cancelled_at) < COUNT(*)) ORDER BY c.code",
        [None if today is None else today.isoformat(), at],
    ).fetchall()
    return [
        CouponRow(
            str(r[0]),
            str(r[1]),
            r[2],
            r[3],
            int(r[4]),
            int(r[5]),
            None if r[6] is None else int(r[6]),
            bool(r[7]),
            int(r[8]),
        )
        for r in rows
    ]


def cancel(db: Database, code: str, *, now: int, operator: str, reason: str) -> int:
    """Take ``code`` out of use for all its holders now (a check already using it keeps
    it); the number of rows cancelled. Raises CouponError for an unknown code.

    A row an open hold reserved is cancelled too: the held check still settles with it (its
    receipt printed it; the confirm does not ask again), but a hold cancelled, replaced or run
    out afterwards gives back a cancelled coupon, not a usable one."""
    code = normalize_coupon(code)
    if db.execute("SELECT 1 FROM coupons WHERE code = ?", [code]).fetchone() is None:
        raise CouponError(f"There is no coupon {code}.")
    count = int(
        db.execute(
            "UPDATE coupons SET cancelled_at = ? WHERE code = ? AND cancelled_at IS NULL"
            " AND (used_check_id IS NULL OR used_check_id IN"
            " (SELECT id FROM checks WHERE status = 'held'))",
            [now, code],
        ).rowcount
    )
    _log(db, now, operator, "coupon_cancel", code, reason, {"rows": count})
    return count
