"""What the settlement and offline-replay tests read back from the server, and send it after
the fact: a member's available points and lifetime spend, the conflicts a check left, a check
settled exactly once, an offline check, and a clock on a day no promotion runs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from processing import wire
from processing.server import ledger
from processing.server.testing import ManualClock, RunningServer

QUIET_DAY = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
"""A day no promotion of the demo program runs (it doubles points 1–10 January 2027)."""


def quiet_clock() -> ManualClock:
    return ManualClock(QUIET_DAY)


def expire_holds(server: RunningServer, clock: ManualClock) -> None:
    """Move the clock past the server's hold time: every hold made so far has expired."""
    clock.advance(server.ctx.hold_ttl + 60)


def available(server: RunningServer, member: str) -> int:
    """``member``'s available points now, in hundredths."""
    with server.ctx.storage.read() as db:
        return ledger.available(db, member, server.ctx.now())


def lifetime_spend(server: RunningServer, member: str) -> int:
    """``member``'s lifetime spend (the tiers' base), in hundredths."""
    with server.ctx.storage.read() as db:
        row = db.execute("SELECT lifetime_spend FROM members WHERE id = ?", [member]).fetchone()
        return int(row[0])


def conflict_kinds(server: RunningServer, check_id: str) -> list[str]:
    with server.ctx.storage.read() as db:
        rows = db.execute("SELECT kind FROM conflicts WHERE check_id = ?", [check_id])
        return [str(r[0]) for r in rows]


def assert_settled_once(server: RunningServer, check_id: str) -> None:
    """One applied check, at most one earn, nothing left held, the ledger sound."""
    with server.ctx.storage.read() as db:
        status = db.execute("SELECT status FROM checks WHERE id = ?", [check_id]).fetchone()
        assert status is not None and status[0] in ("confirmed", "applied_offline")
        earns = db.execute(
            "SELECT count(*) FROM movements WHERE check_id = ? AND kind = 'earn'", [check_id]
        ).fetchone()[0]
        assert earns <= 1
        held = db.execute(
            "SELECT COALESCE(SUM(points), 0) FROM movements WHERE check_id = ?"
            " AND kind IN ('hold', 'release')",
            [check_id],
        ).fetchone()[0]
        assert held == 0  # every reservation released
        assert ledger.audit(db) == []


def offline_check(
    check_id: str,
    member: str,
    lines: list[wire.Line],
    made_at: datetime,
    spent: str = "0",
    **extra: object,
) -> wire.OfflineCheck:
    """The check a till sends after the fact: ``spent`` points taken offline at ``made_at``
    (``extra``: a manager override, coupons …)."""
    return wire.OfflineCheck(
        check_id=check_id,
        member_id=member,
        lines=lines,
        spent_offline=Decimal(spent),
        made_at=made_at,
        **extra,  # type: ignore[arg-type]
    )
