"""The offline preview's earn is the loyalty core's calculation on the cached program and member.

Real till database, the demo program as the server would send it. Before, the preview had a
formula of its own (tier rate × non-discounted lines) that missed excluded categories,
promotions and the program's rounding.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from loyalty.check import calculate
from loyalty.member import MemberState
from loyalty.member import MemberView as CoreMember
from loyalty.program import demo_program
from offline_cache.db import open_database
from offline_cache.members import MemberCache, MemberRow
from offline_cache.snapshots import ProgramCache
from terminal.config import Settings
from terminal.offline_rules import core_line, offline_preview
from terminal.views import MemberView, SaleDraft, SaleLine

NEW_YEAR = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)  # the demo program's x2 runs 1–10 January
LINES = (
    SaleLine("Молоко", Decimal("100.00"), Decimal(1), Decimal("100.00"), category="dairy"),
    SaleLine("Сигареты", Decimal("189.00"), Decimal(1), Decimal("189.00"), category="tobacco"),
    SaleLine("Хлеб", Decimal("57.50"), Decimal(1), Decimal("57.50"), category="bakery"),
)


def _member() -> MemberView:
    return MemberView(
        member_id="m1",
        phone_masked="+7 916 ***-**-67",
        name="Анна",
        state="active",
        tier_name="Base",
        tier_rate=Decimal(3),
        next_tier=None,
        to_next=None,
        available=Decimal("1500"),
        online=False,
    )


def test_offline_earn_follows_the_program_not_a_flat_rate(tmp_path: Path) -> None:
    program = demo_program()
    db = open_database(tmp_path / "till.sqlite3")
    ProgramCache(db).store("7", program.to_dict(), "key", timedelta(minutes=5), NEW_YEAR)
    MemberCache(db).upsert_many(
        [
            MemberRow(
                "m1",
                "+79161234567",
                "active",
                Decimal("1500"),
                NEW_YEAR - timedelta(hours=1),
                details={"lifetime_spend": "2000.00", "birthday": None},
            )
        ],
        refreshed_at=NEW_YEAR,
    )
    settings = Settings(offline={"db_path": str(tmp_path / "till.sqlite3")})
    draft = SaleDraft("check-1", _member(), LINES)

    preview = offline_preview(db, settings, draft, NEW_YEAR)

    core = CoreMember("m1", MemberState.ACTIVE, Decimal("2000.00"), None, Decimal("1500"))
    expected = calculate(program, [core_line(x) for x in LINES], core, Decimal(0), (), NEW_YEAR)
    assert preview.earn == expected.earn_total
    # Tobacco earns nothing and the new-year x2 doubles the rest: 157.50 × 3 % × 2 = 9.45,
    # rounded down to whole points. The old flat formula said 346.50 × 3 % = 10.
    assert preview.earn == Decimal(9), preview.earn
