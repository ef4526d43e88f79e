"""Personal offers to a segment: one offer id reaches every member of the segment (the offers
table is keyed by offer and member, not by offer alone), shown at identification on its days,
and a personal promotion earns for its holders only; ending it stops both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from processing import wire
from processing.client import ProcessingClient
from processing.server.testing import RunningServer
from tests.support.operator_cli import VIP, load_program_with, run

ANNA, IVAN, TARAS = "100001", "100002", "100009"
ANNA_PHONE, IVAN_PHONE, TARAS_PHONE = "+79161234567", "+79161234568", "+380501234567"
MILK = "4600070000014"


def _offers(client: ProcessingClient, phone: str) -> list[str]:
    return [o.id for o in client.identify(phone).offers]


def _earn(client: ProcessingClient, member: str) -> Decimal:
    line = wire.Line(
        barcode=MILK,
        name="Молоко",
        category="dairy",
        price=Decimal("1000.00"),
        quantity=Decimal("1"),
        amount=Decimal("1000.00"),
    )
    request = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=member, lines=[line], requested_spend=Decimal(0)
    )
    return client.calculate(request).earn


def test_a_personal_promotion_reaches_every_member_of_a_phone_list(
    server: RunningServer, client: ProcessingClient, tmp_path: Path
) -> None:
    load_program_with(server, tmp_path, VIP)
    phones = tmp_path / "guests.txt"
    phones.write_text(f"# spring guests\n8 916 123-45-67\n{TARAS_PHONE}\n\nnot a phone\n")
    added = run(
        server, "offers", "add", "vip-x3", "--title", "Тройные баллы", "--to", "2099-12-31",
        "--phones", str(phones), "--reason", "spring guests", "--operator", "olga",
    )  # fmt: skip
    assert added.exit_code == 1  # a bad line is named, the rest is given
    assert "guests.txt: line 5: " in added.output
    assert "given to 2 members (0 held it already)" in added.output
    assert "vip-x3" in _offers(client, ANNA_PHONE)
    assert "vip-x3" in _offers(client, TARAS_PHONE)  # the same offer: a second member
    assert "vip-x3" not in _offers(client, IVAN_PHONE)
    assert _earn(client, ANNA) == Decimal("90")  # 3 % of 1000, times 3
    assert _earn(client, IVAN) == Decimal("50")  # silver 5 %, no offer
    again = run(
        server, "offers", "add", "vip-x3", "--title", "Тройные баллы", "--to", "2099-12-31",
        "--phones", str(phones), "--reason", "spring guests", "--operator", "olga",
    )  # fmt: skip
    assert "given to 0 members (2 held it already)" in again.output
    listed = run(server, "offers", "list")
    vip = next(line for line in listed.output.splitlines() if line.startswith("vip-x3"))
    today = datetime.now(UTC).date().isoformat()
    assert vip.split() == ["vip-x3", today, "…", "2099-12-31", "2", "members", "Тройные", "баллы"]
    ended = run(server, "offers", "end", "vip-x3", "--reason", "budget", "--operator", "olga")
    assert ended.output == "Offer vip-x3: ended for 2 members.\n"
    assert "vip-x3" not in _offers(client, ANNA_PHONE)
    assert _earn(client, ANNA) == Decimal("30")
    unknown = run(server, "offers", "end", "vip-x3", "--reason", "budget")
    assert unknown.output == "Error: There is no offer vip-x3.\n"
    with server.ctx.storage.read() as conn:
        log = conn.execute("SELECT operator, action, subject FROM operator_log").fetchall()
    assert log == [("olga", "offer_add", "vip-x3"), ("olga", "offer_end", "vip-x3")]


def _holders(server: RunningServer, offer_id: str) -> list[str]:
    with server.ctx.storage.read() as conn:
        rows = conn.execute(
            "SELECT member_id FROM offers WHERE id = ? ORDER BY member_id", [offer_id]
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_segments_by_tier_birthday_and_lapsed_buyers(
    server: RunningServer, client: ProcessingClient
) -> None:
    gold = run(server, "offers", "add", "gold-gift", "--title", "Подарок", "--to", "2099-01-01",
               "--tier", "GOLD", "--reason", "gold")  # fmt: skip
    assert gold.exit_code == 0, gold.output
    assert "no personal promotion 'gold-gift'" in gold.output  # shown only: said so
    assert _holders(server, "gold-gift") == ["100003", "100010"]  # lifetime 64 000 and 51 000
    unknown = run(server, "offers", "add", "x", "--title", "x", "--to", "2099-01-01",
                  "--tier", "Platinum", "--reason", "x")  # fmt: skip
    assert unknown.output.startswith("Error: The program has no tier 'Platinum'; its tiers:")
    nothing = run(server, "offers", "add", "x", "--title", "x", "--to", "2099-01-01",
                  "--reason", "x")  # fmt: skip
    assert nothing.output.startswith("Error: Name the segment:")
    # Елена's birthday is tomorrow (the demo seed): a birthday offer for tomorrow reaches her.
    tomorrow = (server.ctx.clock() + timedelta(days=1)).date()
    birthday = run(server, "offers", "add", "bday", "--title", "С днём рождения",
                   "--from", tomorrow.isoformat(), "--to", tomorrow.isoformat(), "--birthday",
                   "--reason", "birthdays")  # fmt: skip
    assert birthday.exit_code == 0, birthday.output
    assert "100006" in _holders(server, "bday")
    with server.ctx.storage.read() as conn:
        days = {
            str(r[0])[5:]
            for r in conn.execute(
                "SELECT m.birthday FROM offers o JOIN members m ON m.id = o.member_id"
                " WHERE o.id = 'bday'"
            )
        }
    assert days == {tomorrow.strftime("%m-%d")}
    # Shown from its first day only.
    assert "bday" not in _offers(client, "+79161234572")
    # Ivan (silver) has bought today: a lapsed-silver offer leaves him out, then takes him.
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()),
        member_id=IVAN,
        lines=[
            wire.Line(
                barcode=MILK,
                name="Молоко",
                category="dairy",
                price=Decimal("100"),
                quantity=Decimal("1"),
                amount=Decimal("100"),
            )
        ],
        requested_spend=Decimal(0),
    )
    calc = client.calculate(req)
    hold = wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint)
    client.hold(hold, idempotency_key="h1")
    client.confirm(req.check_id, idempotency_key="c1")
    lapsed = run(server, "offers", "add", "come-back", "--title", "Ждём вас", "--to",
                 "2099-01-01", "--not-bought-days", "30", "--reason", "lapsed")  # fmt: skip
    assert lapsed.exit_code == 0, lapsed.output
    holders = _holders(server, "come-back")
    assert IVAN not in holders and ANNA in holders
    assert "100005" not in holders  # blocked members get no offers
