"""The till's side of a return whose earned points were already spent: the cashier reads how
many points could not be taken back, to keep them from the cash refund."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from processing.amounts import from_minor
from processing.server import ledger
from processing.server.testing import ManualClock
from terminal.i18n import points
from terminal.screens.returns import return_summary
from terminal.views import QUICK_AMOUNT, SaleDraft, SaleLine
from tests.support.services import till
from tests.support.ui import ANNA, server


def test_the_cashier_is_told_the_points_a_return_could_not_take_back(tmp_path: Path) -> None:
    clock = ManualClock()
    with server(tmp_path, clock=clock) as srv, till(tmp_path, srv) as services:
        member = services.sales.identify(ANNA, scanned=False)
        line = SaleLine(QUICK_AMOUNT, Decimal("1000.00"), Decimal(1), Decimal("1000.00"))
        draft = SaleDraft(str(uuid.uuid4()), member, (line,))
        sold = services.sales.commit_sale(draft, services.sales.preview(draft))
        assert sold.earned > 0
        clock.advance(60 * 86400)  # the earn is active, whatever the activation delay
        # Then every point the member has goes on one large check (with the SMS code).
        with srv.ctx.storage.read() as db:
            everything = from_minor(ledger.available(db, member.member_id, srv.ctx.now()))
        member = services.sales.identify(ANNA, scanned=False)
        # A discounted line: it earns nothing, so no new points cover the return.
        big = SaleLine(QUICK_AMOUNT, Decimal("20000.00"), Decimal(1), Decimal("20000.00"), True)
        spend_all = SaleDraft(str(uuid.uuid4()), member, (big,), spend=everything)
        code_id = services.sales.request_spend_code(spend_all)
        spend_all = replace(spend_all, spend_code_id=code_id, spend_code=srv.latest_code(ANNA))
        spent = services.sales.commit_sale(spend_all, services.sales.preview(spend_all))
        assert (spent.spent, spent.earned) == (everything, 0)
        result = services.members.return_lines(draft.check_id, {0: Decimal(1)})
        assert (result.taken_back, result.shortfall) == (Decimal(0), sold.earned)
        assert result.balance_after == 0
        text = return_summary(result)
        assert f"{points(sold.earned)} points earned on this check were already spent" in text
