"""Claim codes against the real server on loopback: a check made without a customer is
registered under its code, redeemed later by a member, returned before or after."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from loyalty.claims import claim_code
from processing import wire
from processing.client import ProcessingClient
from processing.errors import Rejected
from processing.server import ledger
from processing.server.claims import CLAIM_DAYS
from processing.server.testing import ManualClock, RunningServer

IVAN, IVAN_PHONE = "100002", "+79161234568"  # silver: 5 %
MARIA = "100003"  # gold: 7 %
SERGEI = "100005"  # blocked
START = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # no promotion runs around this day


@pytest.fixture
def clock() -> ManualClock:
    # A fixed day: the demo program doubles points 1–10 January 2027.
    return ManualClock(START)


def _line(price: str, qty: str, category: str = "dairy") -> wire.Line:
    amount = (Decimal(price) * Decimal(qty)).quantize(Decimal("0.01"))
    return wire.Line(
        name="Товар",
        category=category,
        price=Decimal(price),
        quantity=Decimal(qty),
        amount=amount,
    )


def _request(
    clock: ManualClock, *lines: wire.Line, check_id: str | None = None
) -> wire.ClaimRequest:
    check_id = check_id or f"claim-{uuid.uuid4()}"
    return wire.ClaimRequest(
        check_id=check_id,
        code=claim_code(check_id),
        lines=list(lines) or [_line("500.00", "2")],
        made_at=clock(),
    )


def _frozen(client: ProcessingClient, phone: str = IVAN_PHONE) -> Decimal:
    return client.identify(phone).balance.frozen_total


def _return(
    client: ProcessingClient, check_id: str, *lines: tuple[int, str], return_id: str | None = None
) -> wire.ReturnResult:
    rid = return_id or f"ret-{uuid.uuid4()}"
    return client.return_check(
        wire.ReturnRequest(
            return_id=rid,
            check_id=check_id,
            lines=[wire.ReturnLine(index=i, quantity=Decimal(q)) for i, q in lines],
        ),
        idempotency_key=f"k-{rid}",
    )


def _refusal(call: object) -> Rejected:
    assert callable(call)
    with pytest.raises(Rejected) as caught:
        call()
    return caught.value


def _audit(server: RunningServer) -> list[str]:
    with server.ctx.storage.read() as db:
        return ledger.audit(db)


def _lifetime(server: RunningServer, member_id: str) -> int:
    with server.ctx.storage.read() as db:
        row = db.execute("SELECT lifetime_spend FROM members WHERE id = ?", [member_id]).fetchone()
    return int(row[0])


def test_create_and_redeem_credits_the_member(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    request = _request(clock)
    claim = client.create_claim(request, idempotency_key="claim-1")
    assert claim.code == request.code and claim.check_id == request.check_id
    assert claim.status == "open"
    assert claim.earn_at_least == Decimal("30.00")  # base 3 % of 1000
    assert claim.expires_at == START + timedelta(days=CLAIM_DAYS)
    assert claim.message.key == "claim_open" and claim.message.params["points"] == "30"
    assert "at least 30 points" in claim.message.text
    frozen, lifetime = _frozen(client), _lifetime(server, IVAN)
    clock.advance(3600)
    redeemed = client.redeem_claim(claim.code, IVAN)
    assert redeemed.code == claim.code
    assert redeemed.check.member_id == IVAN and redeemed.check.check_id == request.check_id
    assert redeemed.check.status == "applied_offline" and redeemed.check.spent == 0
    assert redeemed.check.earned == Decimal("50.00")  # Ivan's silver 5 %, not the base 3 %
    # Frozen per the program (14 days) from the redemption, as an offline replay is.
    assert redeemed.check.frozen_until == clock() + timedelta(days=14)
    assert redeemed.message.key == "claim_credited"
    assert _frozen(client) == frozen + Decimal("50.00")
    assert _lifetime(server, IVAN) == lifetime + 100000
    clock.advance(15 * 86400)
    assert client.identify(IVAN_PHONE).balance.frozen_total == frozen
    # The claim, asked for again under another key, says it is redeemed.
    again = client.create_claim(request, idempotency_key="claim-1-later")
    assert again.status == "redeemed" and again.code == claim.code
    assert _audit(server) == []


def test_same_key_replays_and_another_key_gives_the_same_claim(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    request = _request(clock)
    first = client.create_claim(request, idempotency_key="k1")
    assert client.create_claim(request, idempotency_key="k1") == first
    other = _request(clock)
    conflict = _refusal(lambda: client.create_claim(other, idempotency_key="k1"))
    assert conflict.code == "idempotency_conflict" and conflict.status == 409
    clock.advance(60)
    assert client.create_claim(request, idempotency_key="k2") == first
    with server.ctx.storage.read() as db:
        rows = db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]
    assert rows == 1
    # The same check id with other lines is not the same claim.
    changed = request.model_copy(update={"lines": [_line("100.00", "1")]})
    taken = _refusal(lambda: client.create_claim(changed, idempotency_key="k3"))
    assert taken.code == "check_exists" and taken.status == 409


def test_redeem_twice_by_the_same_member_credits_once(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    claim = client.create_claim(_request(clock), idempotency_key="c")
    frozen = _frozen(client)
    first = client.redeem_claim(claim.code, IVAN, idempotency_key="r1")
    assert not first.already_collected and first.check.earned > 0
    clock.advance(60)
    assert client.redeem_claim(claim.code, IVAN, idempotency_key="r1") == first  # a retry
    second = client.redeem_claim(claim.code, IVAN, idempotency_key="r2")  # another till
    assert second.already_collected and second.message.key == "claim_already_collected"
    assert second.check.earned == first.check.earned and second.check.check_id == claim.check_id
    assert _frozen(client) == frozen + first.check.earned
    # Once the earned points thaw (the demo program activates them after 14 days), a scan
    # answers today's balance, not the one of the first collection.
    clock.advance(15 * 86400)
    third = client.redeem_claim(claim.code, IVAN, idempotency_key="r3")
    assert third.check.balance_after == first.check.balance_after + first.check.earned
    assert third.check.balance_after == client.identify(IVAN_PHONE).balance.available
    with server.ctx.storage.read() as db:
        earns = db.execute(
            "SELECT COUNT(*) FROM movements WHERE kind = 'earn' AND check_id = ?",
            [claim.check_id],
        ).fetchone()[0]
    assert earns == 1


def test_another_member_is_refused(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    claim = client.create_claim(_request(clock), idempotency_key="c")
    client.redeem_claim(claim.code, IVAN)
    refused = _refusal(lambda: client.redeem_claim(claim.code, MARIA))
    assert refused.code == "claim_redeemed" and refused.status == 409
    with server.ctx.storage.read() as db:
        owner = db.execute("SELECT member_id FROM checks WHERE id = ?", [claim.check_id]).fetchone()
    assert owner[0] == IVAN


def test_a_claim_expires_after_its_days(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    early = client.create_claim(_request(clock), idempotency_key="early")
    late_request = _request(clock)
    late = client.create_claim(late_request, idempotency_key="late")
    clock.advance(CLAIM_DAYS * 86400 - 1)
    assert client.redeem_claim(early.code, IVAN).check.earned == Decimal("50.00")
    clock.advance(1)
    frozen = _frozen(client)
    expired = _refusal(lambda: client.redeem_claim(late.code, IVAN))
    assert expired.code == "claim_expired" and expired.status == 409
    assert _frozen(client) == frozen
    assert client.create_claim(late_request, idempotency_key="late-again").status == "expired"


def test_partial_return_then_redeem_earns_on_what_was_kept(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    request = _request(clock, _line("500.00", "2"), _line("100.00", "10", "grocery"))
    claim = client.create_claim(request, idempotency_key="c")
    assert claim.earn_at_least == Decimal("60.00")
    returned = _return(client, request.check_id, (1, "5"), return_id="before")
    assert returned.member_id == "" and returned.points_taken_back == 0
    assert returned.points_given_back == 0 and returned.message.key == "return_no_points"
    assert "No points" in returned.message.text
    # The same return id answers the same; the claim is worth less now, and still open.
    assert _return(client, request.check_id, (1, "5"), return_id="before") == returned
    now = client.create_claim(request, idempotency_key="c-again")
    assert now.status == "open" and now.earn_at_least == Decimal("45.00")
    too_much = _refusal(lambda: _return(client, request.check_id, (1, "6")))
    assert too_much.code == "return_exceeds_check"
    frozen, lifetime = _frozen(client), _lifetime(server, IVAN)
    redeemed = client.redeem_claim(claim.code, IVAN)
    assert redeemed.check.earned == Decimal("75.00")  # 50 + 50, less half of line 1's 50
    assert _frozen(client) == frozen + Decimal("75.00")
    assert _lifetime(server, IVAN) == lifetime + 150000  # 2000 sold, 500 given back
    # Returns after the redemption count the ones before: the last 5 take back the other 25.
    after = _return(client, request.check_id, (1, "5"))
    assert after.member_id == IVAN and after.points_taken_back == Decimal("25.00")
    assert _frozen(client) == frozen + Decimal("50.00")
    assert _refusal(lambda: _return(client, request.check_id, (1, "1"))).code == (
        "return_exceeds_check"
    )
    # The return made before the redemption still answers the same under its id.
    assert _return(client, request.check_id, (1, "5"), return_id="before") == returned
    assert _audit(server) == []


def test_full_return_then_redeem_is_refused(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    request = _request(clock, _line("500.00", "2"), _line("100.00", "10", "grocery"))
    claim = client.create_claim(request, idempotency_key="c")
    _return(client, request.check_id, (0, "2"), (1, "4"))
    assert client.create_claim(request, idempotency_key="c2").status == "open"
    _return(client, request.check_id, (1, "6"))
    now = client.create_claim(request, idempotency_key="c3")
    assert now.status == "returned" and now.earn_at_least == 0
    frozen = _frozen(client)
    refused = _refusal(lambda: client.redeem_claim(claim.code, IVAN))
    assert refused.code == "claim_returned" and refused.status == 409
    assert _frozen(client) == frozen
    assert _refusal(lambda: _return(client, request.check_id, (0, "1"))).code == (
        "return_exceeds_check"
    )


def test_return_after_redeem_takes_the_points_back(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    request = _request(clock)
    claim = client.create_claim(request, idempotency_key="c")
    frozen = _frozen(client)
    client.redeem_claim(claim.code, IVAN)
    lifetime = _lifetime(server, IVAN)
    back = _return(client, request.check_id, (0, "1"))
    assert back.member_id == IVAN
    assert back.points_taken_back == Decimal("25.00") and back.points_given_back == 0
    assert _frozen(client) == frozen + Decimal("25.00")
    assert _lifetime(server, IVAN) == lifetime - 50000
    assert _audit(server) == []


def test_a_blocked_member_is_refused_and_the_claim_stays_open(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    request = _request(clock)
    claim = client.create_claim(request, idempotency_key="c")
    blocked = _refusal(lambda: client.redeem_claim(claim.code, SERGEI))
    assert blocked.code == "member_blocked"
    unknown = _refusal(lambda: client.redeem_claim(claim.code, "999999"))
    assert unknown.code == "unknown_member" and unknown.status == 404
    assert client.create_claim(request, idempotency_key="c2").status == "open"
    with server.ctx.storage.read() as db:
        checks = db.execute("SELECT COUNT(*) FROM checks WHERE id = ?", [claim.check_id])
        assert checks.fetchone()[0] == 0
    assert client.redeem_claim(claim.code, IVAN).check.member_id == IVAN


def test_unknown_code_is_claim_unknown(client: ProcessingClient) -> None:
    refused = _refusal(lambda: client.redeem_claim(claim_code("never-registered"), IVAN))
    assert refused.code == "claim_unknown" and refused.status == 404


def test_malformed_codes_are_422(server: RunningServer, clock: ManualClock) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}

    def post(path: str, body: dict[str, object], key: str) -> httpx.Response:
        return httpx.post(
            f"{server.url}/v1{path}", json=body, headers={**headers, "Idempotency-Key": key}
        )

    line = {"name": "x", "price": "10.00", "quantity": "1", "amount": "10.00"}
    made_at = clock().isoformat()
    short = post(
        "/claims", {"check_id": "a", "code": "98123", "lines": [line], "made_at": made_at}, "m1"
    )
    assert short.status_code == 422 and short.json()["code"] == "invalid_request"
    # Well formed, but not this check's code.
    foreign = post(
        "/claims",
        {"check_id": "a", "code": claim_code("b"), "lines": [line], "made_at": made_at},
        "m2",
    )
    assert foreign.status_code == 422 and foreign.json()["code"] == "invalid_request"
    assert foreign.json()["message"] == "This claim code was not made from this check id."
    ancient = post(
        "/claims",
        {
            "check_id": "a",
            "code": claim_code("a"),
            "lines": [line],
            "made_at": "0001-01-01T00:00:00+14:00",
        },
        "m5",
    )
    assert ancient.status_code == 422 and ancient.json()["code"] == "invalid_request"
    assert ancient.json()["details"]["errors"][0]["loc"] == ["body", "made_at"]
    assert post("/claims/redeem", {"code": "98x", "member_id": IVAN}, "m3").status_code == 422
    good = claim_code("a")
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    mistyped = post("/claims/redeem", {"code": typo, "member_id": IVAN}, "m4")
    assert mistyped.status_code == 422
    assert mistyped.json()["details"] == {"field": "code", "reason": "check_digit"}


def test_a_member_check_id_cannot_become_a_claim(
    client: ProcessingClient, clock: ManualClock
) -> None:
    check_id = "member-check-1"
    client.replay_offline(
        wire.OfflineCheck(
            check_id=check_id, member_id=IVAN, lines=[_line("100.00", "1")], made_at=clock()
        ),
        idempotency_key="off-1",
    )
    exists = _refusal(
        lambda: client.create_claim(_request(clock, check_id=check_id), idempotency_key="c")
    )
    assert exists.code == "check_exists" and exists.status == 409


def test_a_code_held_by_another_check_is_taken(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    request = _request(clock)
    # Two check ids whose codes collide cannot be found by hand: store the collision directly.
    with server.ctx.storage.write() as db:
        db.execute(
            "INSERT INTO claims (code, check_id, store_id, till_id, lines, calculation,"
            " earn_at_least, made_at, created_at, expires_at)"
            " VALUES (?, 'another-check', 'S1', 'T1', '[]', '{}', 0, 0, 0, 0)",
            [request.code],
        )
    taken = _refusal(lambda: client.create_claim(request, idempotency_key="c"))
    assert taken.code == "claim_code_taken" and taken.status == 409


def test_claim_routes_are_in_the_openapi_document(server: RunningServer) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert "post" in paths["/v1/claims"] and "post" in paths["/v1/claims/redeem"]


def test_a_claims_check_id_cannot_become_a_member_check(
    client: ProcessingClient, clock: ManualClock
) -> None:
    claim = client.create_claim(_request(clock), idempotency_key="c")
    member_check = wire.CheckRequest(
        check_id=claim.check_id, member_id=IVAN, lines=[_line("100.00", "1")]
    )
    calc = client.calculate(member_check)
    held = _refusal(
        lambda: client.hold(
            wire.HoldRequest(**member_check.model_dump(), fingerprint=calc.fingerprint),
            idempotency_key="h",
        )
    )
    assert held.code == "check_exists" and held.status == 409
    replayed = _refusal(
        lambda: client.replay_offline(
            wire.OfflineCheck(
                check_id=claim.check_id,
                member_id=IVAN,
                lines=[_line("100.00", "1")],
                made_at=clock(),
            ),
            idempotency_key="r",
        )
    )
    assert replayed.code == "check_exists" and replayed.status == 409
    # The claim itself is untouched and still pays out.
    assert client.redeem_claim(claim.code, IVAN).check.earned > 0
