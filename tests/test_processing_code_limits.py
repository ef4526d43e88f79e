"""SMS codes against the real server: the wrong-code lockout counts every code of a phone, and
sending is rate-limited per phone and per till (time moved by the injected clock)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from processing.client import ClientSettings, ProcessingClient
from processing.errors import Rejected
from processing.server.codes import (
    LOCK_SECONDS,
    MAX_ATTEMPTS,
    PHONE_SENDS_PER_HOUR,
    RESEND_SECONDS,
    TILL_SENDS_PER_MINUTE,
)
from processing.server.testing import ManualClock, RunningServer

PHONE = "+79165550101"


def _wrong(server: RunningServer, phone: str) -> str:
    return "000000" if server.latest_code(phone) != "000000" else "111111"


def _refusal(call: Callable[[], object]) -> Rejected:
    with pytest.raises(Rejected) as caught:
        call()
    return caught.value


def test_new_codes_do_not_reset_the_wrong_code_count(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    # Four wrong tries, a fresh code, four more: the lock must come at the fifth overall.
    first = client.register(PHONE, consent=True)
    wrong = _wrong(server, PHONE)
    seen = [
        _refusal(lambda: client.confirm_registration(first.code_id, wrong)).code
        for _ in range(MAX_ATTEMPTS - 1)
    ]
    clock.advance(RESEND_SECONDS)
    second = client.register(PHONE, consent=True)
    wrong = _wrong(server, PHONE)
    seen.append(_refusal(lambda: client.confirm_registration(second.code_id, wrong)).code)
    assert seen == ["code_invalid"] * (MAX_ATTEMPTS - 1) + ["code_locked"]
    # Locked: not even the right code of the new one passes, and no new code is sent.
    right = server.latest_code(PHONE)
    assert _refusal(lambda: client.confirm_registration(second.code_id, right)).code == (
        "code_locked"
    )
    clock.advance(RESEND_SECONDS)
    locked = _refusal(lambda: client.register(PHONE, consent=True))
    assert locked.code == "code_locked" and locked.status == 429
    assert 0 < locked.details["retry_after_seconds"] <= LOCK_SECONDS
    # Once the lock has run out the phone works again, with a fresh count.
    clock.advance(LOCK_SECONDS)
    third = client.register(PHONE, consent=True)
    joined = client.confirm_registration(third.code_id, server.latest_code(PHONE))
    assert joined.member.phone_masked.endswith("-01")


def test_a_phone_gets_one_code_a_minute_and_a_few_an_hour(
    client: ProcessingClient, clock: ManualClock
) -> None:
    client.register(PHONE, consent=True)
    soon = _refusal(lambda: client.register(PHONE, consent=True))
    assert soon.code == "code_resend_too_soon" and soon.status == 429
    assert 0 < soon.details["retry_after_seconds"] <= RESEND_SECONDS
    assert soon.message.endswith(".") and "\n" not in soon.message
    for _ in range(PHONE_SENDS_PER_HOUR - 1):
        clock.advance(RESEND_SECONDS)
        client.register(PHONE, consent=True)
    clock.advance(RESEND_SECONDS)
    hourly = _refusal(lambda: client.register(PHONE, consent=True))
    assert hourly.code == "code_phone_limit" and hourly.status == 429
    assert hourly.details["retry_after_seconds"] > 0
    clock.advance(3600)
    assert client.register(PHONE, consent=True).code_id


def test_a_till_sends_a_bounded_number_of_codes_a_minute(
    client: ProcessingClient, server: RunningServer
) -> None:
    phones = [f"+7916555{n:04d}" for n in range(TILL_SENDS_PER_MINUTE + 1)]
    for phone in phones[:-1]:
        client.register(phone, consent=True)
    refused = _refusal(lambda: client.register(phones[-1], consent=True))
    assert refused.code == "code_till_limit" and refused.status == 429
    # Another till of the chain is not held back by this one.
    other = server.add_till("S2", "T1")
    with ProcessingClient(server.url, other, ClientSettings(attempts=1)) as second:
        assert second.register(phones[-1], consent=True).code_id


def test_spend_codes_share_the_phone_limits(client: ProcessingClient, clock: ManualClock) -> None:
    client.request_spend_code("100001", Decimal("100"))
    soon = _refusal(lambda: client.request_spend_code("100001", Decimal("100")))
    assert soon.code == "code_resend_too_soon"
    clock.advance(RESEND_SECONDS)
    assert client.request_spend_code("100001", Decimal("100")).code_id


def test_a_rate_limited_send_can_be_retried_under_the_same_key(
    client: ProcessingClient, clock: ManualClock
) -> None:
    # A 429 that changed nothing is not the key's answer for ever: the till's queued
    # registration is sent again with its own key once the wait is over.
    client.register(PHONE, consent=True)
    key = "queued-registration-1"
    refused = _refusal(lambda: client.register(PHONE, consent=True, idempotency_key=key))
    assert refused.code == "code_resend_too_soon"
    clock.advance(RESEND_SECONDS)
    sent = client.register(PHONE, consent=True, idempotency_key=key)
    assert client.register(PHONE, consent=True, idempotency_key=key).code_id == sent.code_id
