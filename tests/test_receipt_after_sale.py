"""The receipt's bonus lines are the member's state after the sale, not before it.

Real server on loopback with the demo member Anna (1 200 points expiring in 265 days, 300
expiring in 20, 45 frozen for 10 days), real till database; the receipt is the ESC/POS bytes
the till queued for its printer, decoded back to text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from drivers.escpos_decode import decode_escpos
from processing.server.testing import RunningServer
from terminal.composition import build_services
from terminal.services import TillServices
from terminal.views import QUICK_AMOUNT, MemberView, SaleDraft, SaleLine, SaleResult
from tests.support.ui import ANNA, Cable, server, till_settings


@contextmanager
def till(tmp_path: Path, url: str, srv: RunningServer) -> Iterator[TillServices]:
    services = build_services(till_settings(tmp_path, url, srv.api_key))
    try:
        services.office.start_shift("1")
        services.office.refresh_caches()
        yield services
    finally:
        services.close()


def sell(services: TillServices, member: MemberView, spend: str) -> SaleResult:
    line = SaleLine(QUICK_AMOUNT, Decimal("1000.00"), Decimal(1), Decimal("1000.00"))
    draft = SaleDraft(str(uuid.uuid4()), member, (line,), spend=Decimal(spend))
    return services.sales.commit_sale(draft, services.sales.preview(draft))


def printed(services: TillServices, result: SaleResult) -> list[str]:
    with services.store.database() as db:
        row = db.execute("SELECT receipt FROM print_jobs WHERE id = ?", [result.print_job_id])
        data = bytes(row.fetchone()[0])
    return decode_escpos(data, "default").text.splitlines()


def line_with(lines: list[str], word: str) -> str | None:
    return next((line for line in lines if word in line), None)


def test_spending_the_soonest_expiring_points_leaves_them_off_the_receipt(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv.url, srv) as services:
        anna = services.sales.identify(ANNA, scanned=False)
        assert anna.expiring_total == Decimal(300)
        first = printed(services, sell(services, anna, "100"))
        expiring = line_with(first, "Expiring")
        assert expiring is not None and expiring.split()[-2] == "200", first
        again = services.sales.identify(ANNA, scanned=False)
        second = printed(services, sell(services, again, "200"))
        assert line_with(second, "Expiring") is None, second


def test_frozen_and_balance_lines_count_this_sale(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv.url, srv) as services:
        anna = services.sales.identify(ANNA, scanned=False)
        result = sell(services, anna, "300")
        lines = printed(services, result)
        assert line_with(lines, "Expiring") is None, lines
        frozen = line_with(lines, "Frozen")
        assert frozen is not None
        earned_frozen = result.earned if frozen_earn(services, result) else Decimal(0)
        assert Decimal(frozen.split()[-2]) == anna.frozen_total + earned_frozen, lines
        assert earned_frozen > 0  # the demo program freezes earn: this sale's points count


def test_an_offline_sale_after_an_online_identify_prints_the_state_after_it(
    tmp_path: Path,
) -> None:
    with server(tmp_path) as srv:
        cable = Cable(srv.url)
        try:
            with till(tmp_path, cable.url, srv) as services:
                anna = services.sales.identify(ANNA, scanned=False)
                cable.unplug()
                # Offline spending is off by default: the sale spends nothing.
                lines = printed(services, sell(services, anna, "0"))
                expiring = line_with(lines, "Expiring")
                assert expiring is not None and expiring.split()[-2] == "300", lines
        finally:
            cable.close()


def frozen_earn(services: TillServices, result: SaleResult) -> bool:
    """Whether the server froze this check's earn (its confirmation says until when)."""
    with services.store.database() as db:
        row = db.execute("SELECT response FROM outbox WHERE id = ?", [result.check_id])
        response = row.fetchone()[0]
    return '"frozen_until":null' not in response.replace(" ", "")


def test_the_tier_line_is_the_distance_left_after_the_sale(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv.url, srv) as services:
        anna = services.sales.identify(ANNA, scanned=False)
        assert anna.to_next is not None and anna.to_next > Decimal(1000)
        lines = printed(services, sell(services, anna, "100"))  # 900.00 paid in money
        tier = line_with(lines, "To tier")
        assert tier is not None, lines
        left = anna.to_next - Decimal(900)
        assert tier.split()[-2] == f"{left:,.2f}", (tier, left)  # en: 5,900.00 RUB
