"""The till's own estimate of an online check, shown while the cashier is still scanning.

The server's calculate is the figure a sale commits on (its fingerprint goes into the hold).
Asking it after every scanned line made a 20-line check cost the server 20 calculations when
the customer was identified first; the sale screen now asks it once the scanning pauses
(:mod:`terminal.preview_pace`) and shows this estimate in between. It is the loyalty core's
calculation on the cached program, with the member's points as the server last answered them.
The member's personal offers count as the identify answer listed them; coupons count for
nothing here (entering one asks the server at once). The server's answer replaces the estimate,
and a check is never committed on an estimate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlite_utils import Database

from loyalty.member import MemberState
from loyalty.member import MemberView as CoreMember
from terminal.i18n import local
from terminal.offline_rules import MemberCacheLookup, core_calculation, core_member
from terminal.views import MemberView, Preview, SaleDraft


def online_estimate(db: Database, draft: SaleDraft, now: datetime) -> Preview | None:
    """Earn, spend limit and amount to pay for ``draft`` by the cached program; None without
    a cached program, or when the core refuses the lines or the member's state."""
    assert draft.member is not None
    view = _member(db, draft.member, now)
    if view is None:
        return None
    calc = core_calculation(db, draft, view, draft.spend, now)
    if calc is None:
        return None
    total = draft.total
    return Preview(
        check_id=draft.check_id,
        total=total,
        earn=calc.earn_total,
        spend=calc.spend_applied,
        max_spend=calc.spendable_max,
        to_pay=total - calc.spend_applied,
        code_required=calc.code_required,
        fingerprint="",
        online=True,
        estimate=True,
    )


def _member(db: Database, member: MemberView, now: datetime) -> CoreMember | None:
    """The core's view of ``member``: the server's points and lifetime spend, the birthday from
    the till's cache (or today, inside the window the server reported)."""
    try:
        state = MemberState(member.state)
    except ValueError:
        return None
    cached = MemberCacheLookup(db, member.member_id).member
    if cached is not None:
        try:
            view = core_member(cached)
        except (ValueError, KeyError):
            view = None
        if view is not None:
            return replace(
                view,
                state=state,
                available_points=member.available,
                offer_ids=member.offer_ids,
                lifetime_spend=(
                    member.lifetime_spend
                    if member.lifetime_spend is not None
                    else view.lifetime_spend
                ),
            )
    if member.lifetime_spend is None:
        return None  # the tier cannot be chosen
    return CoreMember(
        member_id=member.member_id,
        state=state,
        lifetime_spend=member.lifetime_spend,
        # The window is all the server told: a birthday of today is inside any window.
        birthday=local(now).date() if member.birthday else None,
        available_points=member.available,
        offer_ids=member.offer_ids,
    )
