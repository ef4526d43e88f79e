"""Every sale whose receipt was printed is settled exactly once: a late confirm, a confirm
after a return took held points, and a lost hold answer followed by an offline commit of the
same check all end in one applied check, any shortfall a visible conflict; a refused hold can
be retried with the corrected body."""

from __future__ import annotations

from decimal import Decimal

import pytest

from processing import wire
from processing.client import ProcessingClient
from processing.errors import Rejected
from processing.server.testing import ManualClock, RunningServer
from tests.support.holds import (
    ANNA,
    IVAN,
    IVAN_PHONE,
    TARAS,
    check_request,
    held_check,
    hold_check,
    milk_line,
)
from tests.support.settling import (
    assert_settled_once,
    available,
    conflict_kinds,
    expire_holds,
    offline_check,
    quiet_clock,
)

DAY = 86400


@pytest.fixture
def clock() -> ManualClock:
    return quiet_clock()


def test_a_confirm_after_the_hold_expired_settles_the_sale(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    req = held_check(client, ANNA, "200")
    expire_holds(server, clock)
    result = client.confirm(req.check_id, idempotency_key="late")
    assert (result.status, result.spent, result.conflict) == (
        "confirmed",
        Decimal("200.00"),
        None,
    )
    assert result.earned == Decimal("24.00")
    assert available(server, ANNA) == 1300_00
    # The same key again: the very same answer, nothing applied twice.
    assert client.confirm(req.check_id, idempotency_key="late") == result
    assert client.confirm(req.check_id, idempotency_key="late-2") == result
    assert_settled_once(server, req.check_id)


def test_a_late_confirm_whose_points_went_meanwhile_records_the_shortfall(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    req = held_check(client, TARAS, "300")
    expire_holds(server, clock)
    # The hold released itself; another sale spent 300 of Taras's 400 points.
    other = held_check(client, TARAS, "300")
    client.confirm(other.check_id, idempotency_key="other")
    result = client.confirm(req.check_id, idempotency_key="late")
    assert (result.status, result.spent, result.shortfall) == (
        "confirmed",
        Decimal("100.00"),
        Decimal("200.00"),
    )
    assert result.conflict == "confirm_spend_shortfall"
    assert conflict_kinds(server, req.check_id) == ["confirm_spend_shortfall"]
    assert available(server, TARAS) == 0
    assert_settled_once(server, req.check_id)


def test_a_confirm_after_a_return_took_held_points_settles_with_a_shortfall(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    # Taras earns 30 on a first sale; two weeks later they are active (430 in all).
    first = held_check(client, TARAS, "0")
    client.confirm(first.check_id, idempotency_key="first")
    clock.advance(15 * DAY)
    assert available(server, TARAS) == 430_00
    # A hold reserves all 430; then the first sale is returned and its 30 points go back.
    second = check_request(TARAS, "430", amount="2000.00")
    assert hold_check(client, second).points_held == Decimal("430.00")
    client.return_check(
        wire.ReturnRequest(
            return_id="ret-first",
            check_id=first.check_id,
            lines=[wire.ReturnLine(index=0, quantity=Decimal("1"))],
        ),
        idempotency_key="ret",
    )
    result = client.confirm(second.check_id, idempotency_key="second")
    assert (result.spent, result.shortfall, result.conflict) == (
        Decimal("400.00"),
        Decimal("30.00"),
        "confirm_spend_shortfall",
    )
    assert_settled_once(server, second.check_id)


def test_a_lost_hold_answer_then_an_offline_commit_settles_the_check_once(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    req = held_check(client, ANNA, "200")  # applied, but the till never heard the answer
    offline = offline_check(req.check_id, ANNA, req.lines, clock(), "200")
    result = client.replay_offline(offline, idempotency_key=f"off-{req.check_id}")
    assert (result.status, result.spent, result.conflict) == (
        "applied_offline",
        Decimal("200.00"),
        None,
    )
    assert available(server, ANNA) == 1300_00  # spent once, the hold released
    assert client.replay_offline(offline, idempotency_key=f"off-{req.check_id}") == result
    # A confirm arriving after (the till's queue) answers the applied check, changes nothing.
    assert client.confirm(req.check_id, idempotency_key="late-confirm") == result
    assert available(server, ANNA) == 1300_00
    assert_settled_once(server, req.check_id)


def test_an_offline_commit_after_the_hold_expired_or_was_cancelled_settles(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    expired, cancelled = check_request(ANNA, "100"), check_request(ANNA, "100")
    hold_check(client, expired)
    hold_check(client, cancelled)
    client.cancel(cancelled.check_id, idempotency_key="void")
    expire_holds(server, clock)
    for req in (expired, cancelled):
        result = client.replay_offline(
            offline_check(req.check_id, ANNA, req.lines, clock(), "100"),
            idempotency_key=f"off-{req.check_id}",
        )
        assert (result.status, result.spent) == ("applied_offline", Decimal("100.00"))
        assert_settled_once(server, req.check_id)
    assert available(server, ANNA) == 1300_00


def test_an_offline_commit_of_a_held_check_for_another_member_is_refused(
    client: ProcessingClient, clock: ManualClock
) -> None:
    req = held_check(client, ANNA, "100")
    with pytest.raises(Rejected) as caught:
        client.replay_offline(
            offline_check(req.check_id, IVAN, req.lines, clock()),
            idempotency_key="other-member",
        )
    assert caught.value.code == "check_exists"


# ---------------------------------------------------------------- a refused hold is retryable


def test_a_stale_hold_can_be_retried_with_the_corrected_body_under_the_same_key(
    client: ProcessingClient, server: RunningServer
) -> None:
    req = check_request(ANNA, "100")
    calc = client.calculate(req)
    changed = req.model_copy(update={"lines": [milk_line("900.00")]})
    with pytest.raises(Rejected) as caught:
        client.hold(
            wire.HoldRequest(**changed.model_dump(), fingerprint=calc.fingerprint),
            idempotency_key="hold-1",
        )
    assert caught.value.code == "stale_calculation"
    fresh = caught.value.details["calculation"]["fingerprint"]
    # The identical body again gets the identical refusal …
    with pytest.raises(Rejected) as again:
        client.hold(
            wire.HoldRequest(**changed.model_dump(), fingerprint=calc.fingerprint),
            idempotency_key="hold-1",
        )
    assert (again.value.code, again.value.details) == (caught.value.code, caught.value.details)
    # … and the corrected one, under the same key, is held.
    held = client.hold(
        wire.HoldRequest(**changed.model_dump(), fingerprint=fresh), idempotency_key="hold-1"
    )
    assert held.points_held == Decimal("100.00")
    # Once held, the key's answer is final.
    with pytest.raises(Rejected) as final:
        client.hold(
            wire.HoldRequest(**changed.model_dump(), fingerprint=calc.fingerprint),
            idempotency_key="hold-1",
        )
    assert final.value.code == "idempotency_conflict"
    assert client.confirm(req.check_id, idempotency_key="c").spent == Decimal("100.00")


def test_a_stale_hold_can_be_retried_under_a_fresh_key(client: ProcessingClient) -> None:
    req = check_request(ANNA, "100")
    calc = client.calculate(req)
    changed = req.model_copy(update={"lines": [milk_line("900.00")]})
    with pytest.raises(Rejected) as caught:
        client.hold(
            wire.HoldRequest(**changed.model_dump(), fingerprint=calc.fingerprint),
            idempotency_key="hold-a1",
        )
    fresh = caught.value.details["calculation"]["fingerprint"]
    held = client.hold(
        wire.HoldRequest(**changed.model_dump(), fingerprint=fresh), idempotency_key="hold-a2"
    )
    assert held.points_held == Decimal("100.00")


@pytest.mark.parametrize("same_key", [True, False], ids=["same-key", "fresh-key"])
def test_a_hold_refused_for_a_wrong_code_can_be_retried_with_the_right_one(
    client: ProcessingClient, server: RunningServer, same_key: bool
) -> None:
    req = check_request(IVAN, "600", amount="3000.00")
    calc = client.calculate(req)
    assert calc.code_required
    sent = client.request_spend_code(IVAN, Decimal("600"))
    code = server.latest_code(IVAN_PHONE)
    wrong = "0000" if code != "0000" else "1111"
    body = {**req.model_dump(exclude={"spend_code_id", "spend_code"})}
    body.update(fingerprint=calc.fingerprint, spend_code_id=sent.code_id)
    with pytest.raises(Rejected) as caught:
        client.hold(wire.HoldRequest(**body, spend_code=wrong), idempotency_key="code-1")
    assert caught.value.code == "code_invalid"
    held = client.hold(
        wire.HoldRequest(**body, spend_code=code),
        idempotency_key="code-1" if same_key else "code-2",
    )
    assert held.points_held == Decimal("600.00")


# ------------------------------------------- a lost hold answer, then the till calculates again


def test_a_lost_hold_answer_then_a_new_hold_replaces_it_and_settles_once(
    client: ProcessingClient, server: RunningServer
) -> None:
    req = held_check(client, TARAS, "250")  # applied, but the till never heard the answer
    # The server is back; the cashier recalculates: the same check id, a new body and key.
    again = req.model_copy(update={"requested_spend": Decimal("300")})
    calc = client.calculate(again)
    assert calc.spend == Decimal("300.00")  # its own lost hold (250 of 400) does not count
    held = client.hold(
        wire.HoldRequest(**again.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h2-{req.check_id}",
    )
    assert held.points_held == Decimal("300.00")
    assert available(server, TARAS) == 100_00  # one reservation, not two
    result = client.confirm(req.check_id, idempotency_key="confirm")
    assert (result.status, result.spent, result.conflict) == (
        "confirmed",
        Decimal("300.00"),
        None,
    )
    assert available(server, TARAS) == 100_00
    assert_settled_once(server, req.check_id)


def test_a_new_hold_after_the_lost_one_expired_is_held_afresh(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    req = held_check(client, ANNA, "200")
    expire_holds(server, clock)
    hold_check(client, req.model_copy(update={"requested_spend": Decimal("100")}), "h2")
    result = client.confirm(req.check_id, idempotency_key="confirm")
    assert (result.status, result.spent) == ("confirmed", Decimal("100.00"))
    assert available(server, ANNA) == 1400_00
    assert_settled_once(server, req.check_id)


def test_a_new_hold_of_a_held_check_is_refused_to_others_and_after_settling(
    client: ProcessingClient, server: RunningServer
) -> None:
    req = held_check(client, ANNA, "200")
    # Another member under the same check id: the id is taken.
    with pytest.raises(Rejected) as caught:
        hold_check(client, req.model_copy(update={"member_id": IVAN}), "h-ivan")
    assert caught.value.code == "check_exists"
    # Another till of the store, or another store: the hold is not theirs to replace.
    for store, till in (("S1", "T2"), ("S9", "T1")):
        with ProcessingClient(server.url, server.add_till(store, till)) as other:
            with pytest.raises(Rejected) as foreign:
                hold_check(other, req)
            assert (foreign.value.code, foreign.value.status) == ("unknown_check", 404)
    assert available(server, ANNA) == 1300_00  # the first hold stands, untouched
    client.confirm(req.check_id, idempotency_key="confirm")
    # Applied: a new hold cannot reopen it.
    with pytest.raises(Rejected) as settled:
        hold_check(client, req.model_copy(update={"requested_spend": Decimal("100")}), "h2")
    assert settled.value.code == "check_exists"
    assert available(server, ANNA) == 1300_00
    assert_settled_once(server, req.check_id)
