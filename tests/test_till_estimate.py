"""The till's estimate of an online check agrees with the server's calculation where the till
knows what the server knows: the member's tier, birthday window, state, points and personal
offers.

The reference server on loopback and the till's real services and database. The estimate is
never committed (the sale screen's tests show that), so this is about what the cashier sees
while scanning.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from offline_cache.refresh import refresh_program
from terminal.services import TillServices
from terminal.views import Preview, SaleDraft, SaleLine
from tests.support.operator_cli import VIP, load_program_with, run
from tests.support.services import till
from tests.support.ui import server

LINES = (
    SaleLine("Хлеб", Decimal("57.50"), Decimal(1), Decimal("57.50"), category="bakery"),
    SaleLine("Сигареты", Decimal("189.00"), Decimal(1), Decimal("189.00"), category="tobacco"),
    SaleLine("Сыр", Decimal("812.40"), Decimal(2), Decimal("1624.80"), category="grocery"),
    SaleLine("Чай", Decimal("300.00"), Decimal(1), Decimal("270.00"), category="grocery"),
)
MEMBERS = {
    "+79161234568": "silver tier, 2 500 points",
    "+79161234572": "base tier, inside the birthday window, no points",
    "+79161234570": "earn only",
    "+380501234567": "base tier, 400 points",
}


def _figures(preview: Preview) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return preview.earn, preview.spend, preview.max_spend, preview.to_pay


def _compare(services: TillServices, phone: str) -> tuple[Preview, Preview]:
    member = services.sales.identify(phone, scanned=False)
    assert member.online
    draft = SaleDraft(str(uuid.uuid4()), member, LINES, spend=Decimal(120))
    estimate = services.sales.estimate(draft)
    exact = services.sales.preview(draft)
    assert estimate is not None and estimate.estimate and not exact.estimate
    return estimate, exact


@pytest.mark.parametrize("cached", [True, False], ids=["member-cached", "program-only"])
def test_the_estimate_is_the_servers_figures_for_members_without_offers(
    tmp_path: Path, cached: bool
) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        if cached:
            services.office.refresh_caches()  # program, members and catalog, as the app does
        else:
            # Only the program: the member's birthday comes from the server's window flag.
            with services.sales.store.database() as db:
                refresh_program(db, services.sales.client)
        for phone, who in MEMBERS.items():
            estimate, exact = _compare(services, phone)
            assert _figures(estimate) == _figures(exact), who
        # The birthday rate (14 %) is what made the birthday member's earn: not the base 3 %.
        estimate, _exact = _compare(services, "+79161234572")
        assert estimate.earn > Decimal("0.05") * (LINES[0].amount + LINES[2].amount)


def test_a_personal_offer_counts_in_the_estimate_as_on_the_server(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        load_program_with(srv, tmp_path, VIP)
        guests = tmp_path / "guests.txt"
        guests.write_text("+79161234568\n")
        given = run(
            srv, "offers", "add", "vip-x3", "--title", "Тройные баллы", "--to", "2099-12-31",
            "--phones", str(guests), "--reason", "test", "--operator", "olga",
        )  # fmt: skip
        assert given.exit_code == 0, given.output
        services.office.refresh_caches()
        estimate, exact = _compare(services, "+79161234568")
        assert _figures(estimate) == _figures(exact)
        without, _ = _compare(services, "+380501234567")  # base tier, no offer
        assert estimate.earn > 2 * without.earn  # silver 5 % x3 against base 3 %


def test_no_estimate_without_a_cached_program(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        member = services.sales.identify("+79161234568", scanned=False)
        draft = SaleDraft(str(uuid.uuid4()), member, LINES)
        assert services.sales.estimate(draft) is None  # the screen says "Calculating…"
