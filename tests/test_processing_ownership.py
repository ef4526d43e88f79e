"""Every check, hold, return and claim belongs to the store (and till) that made it: another
store's till gets 404 for it, and nothing about the member in the answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from loyalty.claims import claim_code
from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.errors import Rejected
from processing.server import ledger
from processing.server.testing import ManualClock, RunningServer

ANNA, ANNA_PHONE = "100001", "+79161234567"  # 1500 active points


def _line(amount: str = "1000.00") -> wire.Line:
    return wire.Line(
        name="Молоко",
        category="dairy",
        price=Decimal(amount),
        quantity=Decimal("1"),
        amount=Decimal(amount),
    )


@pytest.fixture
def other_store(server: RunningServer) -> Iterator[ProcessingClient]:
    key = server.add_till("S9", "T1")
    with ProcessingClient(server.url, key, ClientSettings(attempts=1)) as c:
        yield c


@pytest.fixture
def other_till(server: RunningServer) -> Iterator[ProcessingClient]:
    key = server.add_till("S1", "T2")
    with ProcessingClient(server.url, key, ClientSettings(attempts=1)) as c:
        yield c


def _hold(client: ProcessingClient, spend: str = "100") -> str:
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()),
        member_id=ANNA,
        lines=[_line()],
        requested_spend=Decimal(spend),
    )
    calc = client.calculate(req)
    client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h-{req.check_id}",
    )
    return req.check_id


def _not_found(call: Callable[[], object]) -> Rejected:
    with pytest.raises(Rejected) as caught:
        call()
    refusal = caught.value
    assert (refusal.code, refusal.status) == ("unknown_check", 404)
    # Nothing of the check or its member is told.
    assert refusal.details == {} and ANNA not in refusal.message
    return refusal


def test_another_stores_till_cannot_cancel_or_confirm_a_hold(
    client: ProcessingClient, other_store: ProcessingClient, server: RunningServer
) -> None:
    # The repro: S9 cancelled S1's hold (200) and S1's confirm then answered 409.
    check_id = _hold(client)
    refusal = _not_found(lambda: other_store.cancel(check_id, idempotency_key="evil-cancel"))
    _not_found(lambda: other_store.confirm(check_id, idempotency_key="evil-confirm"))
    # Word for word what an id that exists nowhere gets: nothing tells them apart.
    nowhere = _not_found(lambda: other_store.cancel("no-such-check", idempotency_key="probe"))
    assert refusal.message == nowhere.message
    result = client.confirm(check_id, idempotency_key="own-confirm")
    assert (result.status, result.spent) == ("confirmed", Decimal("100.00"))
    with server.ctx.storage.read() as db:
        assert ledger.audit(db) == []


def test_another_till_of_the_store_cannot_close_a_hold(
    client: ProcessingClient, other_till: ProcessingClient
) -> None:
    check_id = _hold(client)
    _not_found(lambda: other_till.cancel(check_id, idempotency_key="t2-cancel"))
    _not_found(lambda: other_till.confirm(check_id, idempotency_key="t2-confirm"))
    assert client.cancel(check_id, idempotency_key="own-cancel").status == "cancelled"


def test_another_store_cannot_return_a_check_or_read_a_return(
    client: ProcessingClient, other_store: ProcessingClient, other_till: ProcessingClient
) -> None:
    check_id = _hold(client)
    client.confirm(check_id, idempotency_key="c")
    request = wire.ReturnRequest(
        return_id=f"r-{check_id}",
        check_id=check_id,
        lines=[wire.ReturnLine(index=0, quantity=Decimal("1"))],
    )
    _not_found(lambda: other_store.return_check(request, idempotency_key="evil-return"))
    done = client.return_check(request, idempotency_key="own-return")
    assert done.member_id == ANNA
    # Another store replaying the same return id learns nothing of it either.
    _not_found(lambda: other_store.return_check(request, idempotency_key="evil-return-2"))
    # A till of the same store may take a return (the service desk).
    again = other_till.return_check(request, idempotency_key="desk")
    assert again == done


def test_another_store_cannot_read_a_replayed_check(
    client: ProcessingClient, other_store: ProcessingClient, clock: ManualClock
) -> None:
    check = wire.OfflineCheck(check_id="off-1", member_id=ANNA, lines=[_line()], made_at=clock())
    mine = client.replay_offline(check, idempotency_key="k1")
    assert mine.balance_after > 0
    _not_found(lambda: other_store.replay_offline(check, idempotency_key="k1"))
    assert client.replay_offline(check, idempotency_key="k2") == mine


def test_another_store_cannot_take_over_or_return_a_claim(
    client: ProcessingClient, other_store: ProcessingClient, clock: ManualClock
) -> None:
    check_id = "claim-1"
    request = wire.ClaimRequest(
        check_id=check_id, code=claim_code(check_id), lines=[_line()], made_at=clock()
    )
    client.create_claim(request, idempotency_key="c1")
    _not_found(lambda: other_store.create_claim(request, idempotency_key="c1"))
    back = wire.ReturnRequest(
        return_id="r-claim-1",
        check_id=check_id,
        lines=[wire.ReturnLine(index=0, quantity=Decimal("1"))],
    )
    _not_found(lambda: other_store.return_check(back, idempotency_key="r1"))
    # The customer may still collect it at any store of the chain.
    redeemed = other_store.redeem_claim(request.code, ANNA)
    assert redeemed.check.earned > 0


def test_hold_for_an_unknown_member_is_404(client: ProcessingClient) -> None:
    req = wire.CheckRequest(check_id="x-1", member_id="999999", lines=[_line()])
    with pytest.raises(Rejected) as caught:
        client.hold(wire.HoldRequest(**req.model_dump(), fingerprint="f" * 16), idempotency_key="h")
    assert (caught.value.code, caught.value.status) == ("unknown_member", 404)
