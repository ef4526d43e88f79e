"""The till keeps UTC but prints and calculates in the store's time (the box's timezone).

A sale at 00:30 on 1 January in Almaty is 19:30 on 31 December in UTC: its receipt must say
1 January, and the program's 1–10 January promotion must apply offline as it does online.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty.program import demo_program
from offline_cache.db import open_database
from offline_cache.snapshots import ProgramCache
from terminal import receipts
from terminal.config import Settings
from terminal.offline_rules import claim_estimate
from terminal.views import SaleDraft, SaleLine

NEW_YEAR_IN_ALMATY = datetime(2026, 12, 31, 19, 30, tzinfo=UTC)  # 00:30 on 1 January, UTC+5
LINE = SaleLine("Хлеб", Decimal("1000.00"), Decimal(1), Decimal("1000.00"), category="bakery")


@pytest.fixture
def almaty(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Almaty")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_receipt_shows_the_stores_date_and_time(almaty: None, tmp_path: Path) -> None:
    settings = Settings(offline={"db_path": str(tmp_path / "till.sqlite3")})
    draft = SaleDraft("c0ffee00-aaaa", None, (LINE,))
    receipt = receipts.sale_receipt(
        settings,
        draft,
        earned=Decimal(0),
        spent=Decimal(0),
        balance_after=None,
        offline=False,
        cashier="1",
        issued_at=NEW_YEAR_IN_ALMATY,
    )
    text = receipts.receipt_text(settings, receipt)
    assert "01.01.2027 00:30" in text, text
    assert "31.12.2026" not in text


def test_offline_earn_uses_the_stores_calendar_day(almaty: None, tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.sqlite3")
    program = demo_program()
    ProgramCache(db).store("7", program.to_dict(), "key", timedelta(minutes=5), NEW_YEAR_IN_ALMATY)
    draft = SaleDraft("check-ny", None, (LINE,))
    # Base 3 % of 1000 = 30, doubled by the 1–10 January promotion on the store's 1 January.
    assert claim_estimate(db, draft, NEW_YEAR_IN_ALMATY) == Decimal(60)
    # An hour earlier it is still 31 December in Almaty too.
    assert claim_estimate(db, draft, NEW_YEAR_IN_ALMATY - timedelta(hours=1)) == Decimal(30)
