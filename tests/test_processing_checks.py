"""Calculate → hold → confirm/cancel against the real server: concurrency, expiry, replays."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import httpx
import pytest

from processing import wire
from processing.amounts import from_minor
from processing.client import ProcessingClient
from processing.errors import Rejected
from processing.server import idempotency, ledger
from processing.server.testing import ManualClock, RunningServer

ANNA = "100001"  # 1500 active points, base tier 3 %
IVAN = "100002"  # 2500 active points, silver 5 %
TARAS = "100009"  # 400 active points
MILK = "4600070000014"


def lines(amount: str = "1000.00") -> list[wire.Line]:
    return [
        wire.Line(
            barcode=MILK,
            name="Молоко",
            category="dairy",
            price=Decimal(amount),
            quantity=Decimal("1"),
            amount=Decimal(amount),
        )
    ]


def check(member: str, spend: str = "0", amount: str = "1000.00") -> wire.CheckRequest:
    return wire.CheckRequest(
        check_id=str(uuid.uuid4()),
        member_id=member,
        lines=lines(amount),
        requested_spend=Decimal(spend),
    )


def hold_request(req: wire.CheckRequest, fingerprint: str, **extra: str) -> wire.HoldRequest:
    return wire.HoldRequest(**{**req.model_dump(), **extra}, fingerprint=fingerprint)


def audit(server: RunningServer) -> list[str]:
    with server.ctx.storage.read() as db:
        return ledger.audit(db)


def test_full_sale_earns_and_spends(client: ProcessingClient, server: RunningServer) -> None:
    req = check(ANNA, spend="200")
    calc = client.calculate(req)
    assert calc.spend == Decimal("200.00")
    assert calc.earn == Decimal("24.00")  # 3 % of the 800 paid in money
    assert calc.message.text
    held = client.hold(hold_request(req, calc.fingerprint), idempotency_key="k-hold-1")
    assert held.points_held == Decimal("200.00")
    assert client.identify("+79161234567").balance.held == Decimal("200.00")
    result = client.confirm(req.check_id, idempotency_key="k-confirm-1")
    assert (result.status, result.earned, result.spent) == (
        "confirmed",
        Decimal("24.00"),
        Decimal("200.00"),
    )
    assert result.balance_after == Decimal("1300.00")  # earned points are frozen 14 days
    assert result.frozen_until is not None
    # A replay with the same key answers the very same result.
    assert client.confirm(req.check_id, idempotency_key="k-confirm-1") == result
    assert client.identify("+79161234567").balance.available == Decimal("1300.00")
    assert audit(server) == []


def test_same_key_with_another_body_is_409(client: ProcessingClient) -> None:
    first, second = check(ANNA), check(IVAN)
    calc = client.calculate(first)
    client.hold(hold_request(first, calc.fingerprint), idempotency_key="reused-key")
    other = client.calculate(second)
    with pytest.raises(Rejected) as caught:
        client.hold(hold_request(second, other.fingerprint), idempotency_key="reused-key")
    assert caught.value.code == "idempotency_conflict" and caught.value.status == 409


def test_a_hold_stored_under_the_parsed_body_digest_is_still_its_keys_answer(
    client: ProcessingClient, server: RunningServer
) -> None:
    """A hold's key is digested from the bytes sent; one stored by a server that digested the
    parsed body (before the upgrade) must still answer the retry, not refuse it. The body is
    sent with its fields in another order than the model's, so the two digests differ."""
    req = check(ANNA, spend="100")
    calc = client.calculate(req)
    hold = hold_request(req, calc.fingerprint)
    fields = hold.model_dump(mode="json")
    raw = json.dumps(dict(reversed(list(fields.items())))).encode()
    route = f"/v1/checks/{req.check_id}/hold"
    headers = {
        "Authorization": f"Bearer {server.api_key}",
        "Idempotency-Key": "k-upgraded",
        "Content-Type": "application/json",
    }
    first = httpx.post(f"{server.url}{route}", content=raw, headers=headers)
    assert first.status_code == 200, first.text
    parsed = wire.HoldBody.model_validate(fields).model_dump_json().encode()
    assert idempotency.body_hash(route, parsed) != idempotency.body_hash(route, raw)
    with server.ctx.storage.write() as db:
        db.execute(
            "UPDATE idempotency SET body_hash = ? WHERE key = 'k-upgraded'",
            [idempotency.body_hash(route, parsed)],
        )
    again = httpx.post(f"{server.url}{route}", content=raw, headers=headers)
    assert (again.status_code, again.content) == (200, first.content)
    other = json.dumps({**fields, "requested_spend": "50.00"}).encode()
    refused = httpx.post(f"{server.url}{route}", content=other, headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "idempotency_conflict"


def test_missing_idempotency_key_is_refused(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.url}/v1/checks/abc/confirm",
        headers={"Authorization": f"Bearer {server.api_key}"},
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_an_offline_check_from_year_one_is_a_422_not_a_500(server: RunningServer) -> None:
    # Year 1 at +14:00 is before the epoch's reach: converting it to a timestamp would raise.
    response = httpx.post(
        f"{server.url}/v1/checks/offline",
        headers={"Authorization": f"Bearer {server.api_key}", "Idempotency-Key": "year-one"},
        json={
            "check_id": "year-one",
            "member_id": ANNA,
            "lines": [{"price": "10", "quantity": "1", "amount": "10"}],
            "made_at": "0001-01-01T00:00:00+14:00",
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


def test_two_concurrent_holds_on_one_balance_exactly_one_wins(server: RunningServer) -> None:
    # Taras has 400 points; two tills each try to take 300 of them at the same moment.
    requests = [check(TARAS, spend="300") for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def till(req: wire.CheckRequest, key: str) -> None:
        with ProcessingClient(server.url, server.add_till("S1", key)) as c:
            calc = c.calculate(req)
            barrier.wait(timeout=10)
            try:
                outcomes.append(c.hold(hold_request(req, calc.fingerprint), idempotency_key=key))
            except Rejected as exc:
                outcomes.append(exc)

    threads = [
        threading.Thread(target=till, args=(req, f"concurrent-till-{i}"))
        for i, req in enumerate(requests)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    holds = [o for o in outcomes if isinstance(o, wire.Hold)]
    refusals = [o for o in outcomes if isinstance(o, Rejected)]
    assert len(holds) == 1 and len(refusals) == 1, outcomes
    assert refusals[0].code in {"insufficient_points", "stale_calculation"}
    with server.ctx.storage.read() as db:
        assert ledger.figures(db, TARAS, server.ctx.now()).available == 100_00


def test_hold_expires_by_itself(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    req = check(ANNA, spend="100")
    calc = client.calculate(req)
    client.hold(hold_request(req, calc.fingerprint), idempotency_key="exp-hold")
    assert client.identify("+79161234567").balance.available == Decimal("1400.00")
    clock.advance(server.ctx.hold_ttl + 1)
    assert client.identify("+79161234567").balance.available == Decimal("1500.00")
    # A void after expiry closes the check: a confirm after it is refused (a confirm before
    # it settles the sale: test_processing_settlement).
    assert client.cancel(req.check_id, idempotency_key="exp-cancel").status == "expired"
    with pytest.raises(Rejected) as caught:
        client.confirm(req.check_id, idempotency_key="exp-confirm")
    assert caught.value.code == "check_already_closed"
    assert client.identify("+79161234567").balance.available == Decimal("1500.00")
    assert audit(server) == []


def test_stale_calculation_is_refused(client: ProcessingClient) -> None:
    req = check(ANNA, spend="100")
    calc = client.calculate(req)
    changed = req.model_copy(update={"lines": lines("900.00")})
    with pytest.raises(Rejected) as caught:
        client.hold(hold_request(changed, calc.fingerprint), idempotency_key="stale-1")
    assert caught.value.code == "stale_calculation"
    assert "calculation" in caught.value.details


def test_cancel_releases_and_confirm_after_cancel_is_refused(client: ProcessingClient) -> None:
    req = check(ANNA, spend="100")
    calc = client.calculate(req)
    client.hold(hold_request(req, calc.fingerprint), idempotency_key="c-hold")
    assert client.cancel(req.check_id, idempotency_key="c-cancel").released == Decimal("100.00")
    assert client.cancel(req.check_id, idempotency_key="c-cancel-2").status == "already_cancelled"
    with pytest.raises(Rejected) as caught:
        client.confirm(req.check_id, idempotency_key="c-confirm")
    assert caught.value.code == "check_already_closed"
    assert client.identify("+79161234567").balance.available == Decimal("1500.00")


def test_big_spend_needs_the_sms_code(client: ProcessingClient, server: RunningServer) -> None:
    req = check(IVAN, spend="600", amount="3000.00")
    calc = client.calculate(req)
    assert calc.code_required
    with pytest.raises(Rejected) as caught:
        client.hold(hold_request(req, calc.fingerprint), idempotency_key="code-1")
    assert caught.value.code == "code_required"
    sent = client.request_spend_code(IVAN, Decimal("600"))
    code = server.latest_code("+79161234568")
    held = client.hold(
        hold_request(req, calc.fingerprint, spend_code_id=sent.code_id, spend_code=code),
        idempotency_key="code-2",
    )
    assert held.points_held == Decimal("600.00")


def test_blocked_and_earn_only_members(client: ProcessingClient) -> None:
    with pytest.raises(Rejected) as blocked:
        client.calculate(check("100005"))
    assert blocked.value.code == "member_blocked"
    earn_only = check("100004", spend="50")
    calc = client.calculate(earn_only)
    assert calc.spend == 0 and calc.earn > 0
    with pytest.raises(Rejected) as caught:
        client.hold(hold_request(earn_only, calc.fingerprint), idempotency_key="eo-1")
    assert caught.value.code == "spend_not_allowed"


def test_unknown_check_and_member(client: ProcessingClient) -> None:
    with pytest.raises(Rejected) as caught:
        client.confirm("no-such-check", idempotency_key="u-1")
    assert caught.value.code == "unknown_check"
    with pytest.raises(Rejected) as member:
        client.calculate(check("999999"))
    assert member.value.code == "unknown_member"


def test_hold_prepared_before_the_lock_is_redone_if_the_balance_changed(
    client: ProcessingClient, server: RunningServer
) -> None:
    """A hold is calculated on a read snapshot before the write lock; if the balance changed
    in between (another till's hold won), the write recalculates and refuses."""
    from processing.server import hold_calculation, holds
    from processing.server.auth import TillIdentity
    from processing.server.problems import ApiError

    ctx = server.ctx
    caller = TillIdentity(1, "S1", "T1")
    first = check(TARAS, spend="400", amount="2000.00")
    second = check(TARAS, spend="400", amount="2000.00")
    hold_requests = []
    for req in (first, second):
        calc = client.calculate(req)
        hold_requests.append(hold_request(req, calc.fingerprint))
    now = ctx.now()
    with ctx.storage.read() as db:
        program = ctx.program(db)
        prepared = [hold_calculation.prepare_hold(db, program, h, now) for h in hold_requests]
    assert all(p is not None and p.refusal is None for p in prepared)
    with ctx.storage.write() as db:  # unchanged since prepared: the prepared hold is used
        won = wire.Hold.model_validate_json(
            holds.hold(db, program, hold_requests[0], now, caller, 600, prepared[0])
        )
    assert won.points_held == Decimal("400.00")
    with pytest.raises(ApiError) as refused, ctx.storage.write() as db:
        holds.hold(db, program, hold_requests[1], now, caller, 600, prepared[1])
    assert refused.value.code == "insufficient_points"
    # A member blocked between the read and the write is refused too.
    req = check(ANNA)
    hold = hold_request(req, client.calculate(req).fingerprint)
    with ctx.storage.read() as db:
        ready = hold_calculation.prepare_hold(db, program, hold, now)
    with ctx.storage.write() as db:
        db.execute("UPDATE members SET state = 'blocked' WHERE id = ?", [ANNA])
    with pytest.raises(ApiError) as blocked, ctx.storage.write() as db:
        holds.hold(db, program, hold, now, caller, 600, ready)
    assert blocked.value.code == "member_blocked"
    assert audit(server) == []


def _count_core_calculations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from processing.server import pricing

    ran: list[str] = []
    real = pricing.run

    def counted(*args: object, **kwargs: object) -> object:
        ran.append("run")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pricing, "run", counted)
    return ran


def test_a_hold_takes_the_calculation_its_fingerprint_proves(
    client: ProcessingClient, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _count_core_calculations(monkeypatch)
    req = check(ANNA, spend="100")
    calc = client.calculate(req)
    held = client.hold(hold_request(req, calc.fingerprint), idempotency_key="once-1")
    assert ran == ["run"]  # calculated once for the whole sale
    assert held.calculation.fingerprint == calc.fingerprint
    assert held.calculation.model_dump(exclude={"detail"}) == calc.model_dump(exclude={"detail"})
    assert held.points_held == Decimal("100.00")
    client.confirm(req.check_id, idempotency_key="once-2")
    assert audit(server) == []


def test_a_hold_calculates_again_when_the_balance_moved_since_the_preview(
    client: ProcessingClient, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _count_core_calculations(monkeypatch)
    req = check(TARAS, spend="400", amount="2000.00")
    calc = client.calculate(req)
    other = check(TARAS, spend="100", amount="2000.00")  # another till spends meanwhile
    client.hold(hold_request(other, client.calculate(other).fingerprint), idempotency_key="o-1")
    with pytest.raises(Rejected) as caught:
        client.hold(hold_request(req, calc.fingerprint), idempotency_key="moved-1")
    assert caught.value.code == "insufficient_points"
    assert len(ran) == 3  # two previews and the moved hold; the other's hold reused its own
    assert audit(server) == []


@pytest.mark.parametrize(("delay_days", "expiry_days"), [(0, 365), (0, None), (14, 365)])
def test_a_confirm_answers_the_balance_the_ledger_then_holds(
    client: ProcessingClient, server: RunningServer, delay_days: int, expiry_days: int | None
) -> None:
    """The confirm works its answer's balance out from what it read and wrote (points taken,
    the new lot active now or not) instead of reading the ledger again: it must be the
    ledger's figure, with earned points active at once, never expiring, or frozen."""
    from dataclasses import replace

    from processing.server.context import store_program

    with server.ctx.storage.write() as db:
        program = server.ctx.program(db)
        store_program(
            db,
            replace(
                program,
                version=program.version + 1,
                activation_delay_days=delay_days,
                expiry_days=expiry_days,
            ),
            server.ctx.now(),
        )
    other = check(IVAN, spend="300")  # another hold of the member's stays open throughout
    client.hold(hold_request(other, client.calculate(other).fingerprint), idempotency_key="b-o")
    for spend in ("200", "0", "5000"):
        req = check(IVAN, spend=spend, amount="3000.00")
        calc = client.calculate(req)
        if calc.spend < Decimal(spend):
            continue  # more than the member has: refused at hold, nothing to confirm
        client.hold(hold_request(req, calc.fingerprint), idempotency_key=f"b-h{spend}")
        done = client.confirm(req.check_id, idempotency_key=f"b-c{spend}")
        assert done.earned > 0
        with server.ctx.storage.read() as db:
            now_available = ledger.available(db, IVAN, server.ctx.now())
        assert done.balance_after == from_minor(now_available)
    assert audit(server) == []
