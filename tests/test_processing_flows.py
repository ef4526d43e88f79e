"""Registration with codes, returns, offline replay and cache deltas against the real server."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from processing import wire
from processing.client import ProcessingClient
from processing.errors import Rejected
from processing.server import ledger
from processing.server.codes import MAX_ATTEMPTS, RESEND_SECONDS
from processing.server.testing import ManualClock, RunningServer

NEW_PHONE = "+79165550101"


def audit(server: RunningServer) -> list[str]:
    with server.ctx.storage.read() as db:
        return ledger.audit(db)


def test_registration_with_code(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    sent = client.register("8 916 555-01-01", consent=True, name="Пётр Новый")
    assert not sent.existing_member and sent.phone_masked == "+7 916 ***-**-01"
    with pytest.raises(Rejected) as wrong:
        client.confirm_registration(
            sent.code_id, "000000" if server.latest_code(NEW_PHONE) != "000000" else "111111"
        )
    assert wrong.value.code == "code_invalid" and wrong.value.details["attempts_left"] == 4
    member = client.confirm_registration(sent.code_id, server.latest_code(NEW_PHONE))
    assert member.member.name == "Пётр Новый" and member.balance.available == 0
    assert client.identify(NEW_PHONE).member.id == member.member.id
    # A known phone gets a code that authorises the existing member (a minute later: one
    # code a minute per phone).
    clock.advance(RESEND_SECONDS)
    again = client.register(NEW_PHONE, consent=True)
    assert again.existing_member
    same = client.confirm_registration(again.code_id, server.latest_code(NEW_PHONE))
    assert same.member.id == member.member.id


def test_consent_is_required_for_new_members(client: ProcessingClient) -> None:
    with pytest.raises(Rejected) as caught:
        client.register(NEW_PHONE, consent=False)
    assert caught.value.code == "consent_required"


def test_five_wrong_codes_lock_the_phone(client: ProcessingClient, server: RunningServer) -> None:
    sent = client.register(NEW_PHONE, consent=True)
    right = server.latest_code(NEW_PHONE)
    wrong = "000000" if right != "000000" else "111111"
    codes = []
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(Rejected) as caught:
            client.confirm_registration(sent.code_id, wrong)
        codes.append(caught.value.code)
    assert codes == ["code_invalid"] * (MAX_ATTEMPTS - 1) + ["code_locked"]
    with pytest.raises(Rejected) as locked:
        client.confirm_registration(sent.code_id, right)
    assert locked.value.code == "code_locked"
    with pytest.raises(Rejected) as no_new_code:
        client.register(NEW_PHONE, consent=True)
    assert no_new_code.value.code == "code_locked"


def _sale(client: ProcessingClient, member: str, lines: list[wire.Line], spend: str) -> str:
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=member, lines=lines, requested_spend=Decimal(spend)
    )
    calc = client.calculate(req)
    client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h-{req.check_id}",
    )
    client.confirm(req.check_id, idempotency_key=f"c-{req.check_id}")
    return req.check_id


def _line(price: str, qty: str) -> wire.Line:
    amount = Decimal(price) * Decimal(qty)
    return wire.Line(
        sku="SKU00010",
        name="Хлеб",
        category="bakery",
        price=Decimal(price),
        quantity=Decimal(qty),
        amount=amount.quantize(Decimal("0.01")),
    )


def test_partial_then_full_return(client: ProcessingClient, server: RunningServer) -> None:
    # Ivan: silver 5 %, 2500 points. Two lines, 400 points spent.
    check_id = _sale(client, "100002", [_line("100.00", "10"), _line("200.00", "5")], "400")
    before = client.identify("+79161234568").balance.available
    partial = client.return_check(
        wire.ReturnRequest(
            return_id="r1",
            check_id=check_id,
            lines=[wire.ReturnLine(index=0, quantity=Decimal("5"))],
        ),
        idempotency_key="ret-1",
    )
    assert partial.points_given_back == Decimal("100.00")  # half of line 0's 200 points
    assert partial.points_taken_back > 0
    rest = client.return_check(
        wire.ReturnRequest(
            return_id="r2",
            check_id=check_id,
            lines=[
                wire.ReturnLine(index=0, quantity=Decimal("5")),
                wire.ReturnLine(index=1, quantity=Decimal("5")),
            ],
        ),
        idempotency_key="ret-2",
    )
    assert partial.points_given_back + rest.points_given_back == Decimal("400.00")
    with pytest.raises(Rejected) as caught:
        client.return_check(
            wire.ReturnRequest(
                return_id="r3",
                check_id=check_id,
                lines=[wire.ReturnLine(index=0, quantity=Decimal("1"))],
            ),
            idempotency_key="ret-3",
        )
    assert caught.value.code == "return_exceeds_check"
    # Earned points were frozen (never spendable), so the available balance got back the spend.
    assert client.identify("+79161234568").balance.available == before + Decimal("400.00")
    assert audit(server) == []


def test_offline_replay_with_a_shortfall_conflict(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    # Taras has 400 points; offline the till let him spend 300 twice.
    items = [
        wire.ReplayItem(
            idempotency_key=f"off-{i}",
            check=wire.OfflineCheck(
                check_id=f"offline-check-{i}",
                member_id="100009",
                lines=[_line("1000.00", "1")],
                spent_offline=Decimal("300"),
                made_at=clock(),
            ),
        )
        for i in range(2)
    ]
    results = client.replay_batch(items)
    assert [r.status for r in results] == ["applied", "applied"]
    first, second = (r.result for r in results)
    assert first is not None and second is not None
    assert first.conflict is None and first.spent == Decimal("300.00")
    assert second.conflict == "offline_spend_shortfall"
    assert second.spent == Decimal("100.00") and second.shortfall == Decimal("200.00")
    assert first.earned == Decimal("21.00")  # 3 % of 700 paid in money, rounded down
    # Replays answer the same, marked duplicate; the single form agrees.
    again = client.replay_batch(items)
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert again[1].result == second
    assert client.replay_offline(items[1].check, idempotency_key="off-1") == second
    with server.ctx.storage.read() as db:
        conflicts = db.execute("SELECT check_id, kind FROM conflicts").fetchall()
    assert conflicts == [("offline-check-1", "offline_spend_shortfall")]
    assert audit(server) == []


def test_batch_item_for_unknown_member_is_rejected_alone(
    client: ProcessingClient, clock: ManualClock
) -> None:
    good = wire.OfflineCheck(
        check_id="ok-1", member_id="100001", lines=[_line("100.00", "1")], made_at=clock()
    )
    bad = good.model_copy(update={"check_id": "bad-1", "member_id": "999999"})
    results = client.replay_batch(
        [
            wire.ReplayItem(idempotency_key="b-ok", check=good),
            wire.ReplayItem(idempotency_key="b-bad", check=bad),
        ]
    )
    assert [r.status for r in results] == ["applied", "rejected"]
    assert results[1].error is not None and results[1].error.code == "unknown_member"


def test_snapshot_and_deltas(client: ProcessingClient, clock: ManualClock) -> None:
    snap = client.program_snapshot()
    assert snap.version == 1 and len(snap.qr_public_key) == 64
    assert snap.program["qr_public_key"] == snap.qr_public_key
    first = client.members_delta(limit=4)
    assert len(first.items) == 4 and first.has_more
    rest = client.members_delta(first.cursor, limit=1000)
    assert len(first.items) + len(rest.items) == 10 and not rest.has_more
    assert client.members_delta(rest.cursor).items == []
    anna = first.items[0]
    assert (
        anna.phone == "+79161234567" and anna.card_numbers and anna.available == Decimal("1500.00")
    )
    # A sale changes Anna, so she (only she) appears after the last cursor.
    _sale(client, "100001", [_line("100.00", "1")], "0")
    changed = client.members_delta(rest.cursor)
    assert [m.id for m in changed.items] == ["100001"]
    catalog = client.catalog_delta(limit=150)
    more = client.catalog_delta(catalog.cursor, limit=150)
    products = catalog.items + more.items
    assert len(products) == 200 and not more.has_more
    assert all(len(p.barcodes[0]) == 13 for p in products)
    assert any(p.category == "tobacco" for p in products)
