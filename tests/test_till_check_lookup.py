"""The return and reprint lookup: a printed number (a prefix of the check id) must name exactly
one check of this till; two checks sharing it get one sentence asking for more characters,
never the first of them picked at random."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from terminal.errors import TillError
from terminal.views import QUICK_AMOUNT, SaleDraft, SaleLine
from tests.support.services import till
from tests.support.ui import ANNA, server

FIRST = "abcd1234-0000-4000-8000-000000000001"
SECOND = "abcd1234-0000-4000-8000-000000000002"


def test_a_shared_prefix_asks_for_more_characters(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        member = services.sales.identify(ANNA, scanned=False)
        for check_id, amount in ((FIRST, "100.00"), (SECOND, "250.00")):
            line = SaleLine(QUICK_AMOUNT, Decimal(amount), Decimal(1), Decimal(amount))
            draft = SaleDraft(check_id, member, (line,))
            services.sales.commit_sale(draft, services.sales.preview(draft))
        for number in ("abcd1234", "ABCD1234-0000"):
            with pytest.raises(TillError) as caught:
                services.members.find_check(number)
            assert "more characters" in str(caught.value)
            with pytest.raises(TillError):
                services.office.reprint(number)
        # Enough characters, or the whole id, name one check.
        row, _lines = services.members.find_check("abcd1234-0000-4000-8000-000000000002")
        assert (row.check_id, row.total) == (SECOND, Decimal("250.00"))
        row, _lines = services.members.find_check(FIRST.upper())
        assert row.check_id == FIRST
        with pytest.raises(TillError) as unknown:
            services.members.find_check("ffff0000")
        assert str(unknown.value) == "No such check on this till."
