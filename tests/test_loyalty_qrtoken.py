"""Member QR tokens: digits only, signed, short-lived; every kind of bad token has its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.errors import InvalidKey, TokenError
from loyalty.identifiers import IdKind, classify
from loyalty.program import DEMO_QR_PRIVATE_KEY, DEMO_QR_PUBLIC_KEY
from loyalty.qrtoken import (
    TOKEN_PREFIX,
    generate_keypair,
    issue_token,
    public_key_of,
    verify_token,
)

ISSUED = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)
PRIVATE, PUBLIC = generate_keypair()


def reason_code(token: str, now: datetime = ISSUED, public: str = PUBLIC) -> str:
    with pytest.raises(TokenError) as caught:
        verify_token(token, public, now, TTL)
    assert caught.value.reason.endswith(".")
    return caught.value.code


@pytest.mark.parametrize(
    "member_id", ["100042", "0007", "3f2b8c1e-4a5d-4e6f-9a7b-1c2d3e4f5a6b", "M-42/A"]
)
def test_round_trip_keeps_member_and_time(member_id: str) -> None:
    token = issue_token(member_id, ISSUED, PRIVATE)
    assert token.isdigit() and token.startswith(TOKEN_PREFIX)
    claims = verify_token(token, PUBLIC, ISSUED + timedelta(minutes=4), TTL)
    assert claims.member_id == member_id
    assert claims.issued_at == ISSUED


def test_a_numeric_member_id_stays_compact() -> None:
    # 2 prefix + 1 version + 1 kind + 2 length + 6 id + 10 time + 155 signature + 2 check = 179
    assert len(issue_token("100042", ISSUED, PRIVATE)) == 179


def test_the_demo_keys_belong_together() -> None:
    assert public_key_of(DEMO_QR_PRIVATE_KEY) == DEMO_QR_PUBLIC_KEY


def test_expired_token() -> None:
    token = issue_token("100042", ISSUED, PRIVATE)
    assert reason_code(token, now=ISSUED + TTL + timedelta(seconds=1)) == "expired"
    verify_token(token, PUBLIC, ISSUED + TTL, TTL)  # exactly at the TTL is still fine


def test_token_from_the_future_beyond_skew() -> None:
    token = issue_token("100042", ISSUED + timedelta(minutes=10), PRIVATE)
    assert reason_code(token) == "future"
    within_skew = issue_token("100042", ISSUED + timedelta(seconds=60), PRIVATE)
    assert verify_token(within_skew, PUBLIC, ISSUED, TTL).member_id == "100042"


def test_forged_token_signed_by_another_key() -> None:
    other_private, _ = generate_keypair()
    assert reason_code(issue_token("100042", ISSUED, other_private)) == "forged"


def test_truncated_token() -> None:
    token = issue_token("100042", ISSUED, PRIVATE)
    assert reason_code(token[:-30]) == "truncated"
    assert reason_code(token[:5]) == "truncated"


def test_altered_digit_and_appended_digit() -> None:
    token = issue_token("100042", ISSUED, PRIVATE)
    # Change the last digit of the member id: 100042 → 100043 (a different member).
    position = 6 + 5
    altered = token[:position] + str((int(token[position]) + 1) % 10) + token[position + 1 :]
    assert reason_code(altered) == "altered"
    assert reason_code(token + "0") == "altered"


def test_altered_with_recomputed_check_digits_is_caught_as_forged() -> None:
    from loyalty.qrtoken import _check_digits

    token = issue_token("100042", ISSUED, PRIVATE)
    body = token[:-2]
    body = body[:11] + "3" + body[12:]  # member 100043
    assert reason_code(body + _check_digits(body)) == "forged"


def test_not_a_token() -> None:
    assert reason_code("4006381333931") == "malformed"
    assert reason_code("99abc") == "malformed"


def test_bad_keys_are_rejected() -> None:
    with pytest.raises(InvalidKey):
        issue_token("1", ISSUED, "not hex")
    with pytest.raises(InvalidKey):
        verify_token(issue_token("1", ISSUED, PRIVATE), "00" * 31, ISSUED, TTL)


def test_naive_times_are_refused() -> None:
    with pytest.raises(TokenError):
        issue_token("1", datetime(2026, 11, 23), PRIVATE)


def test_classifier_recognises_tokens_even_truncated() -> None:
    token = issue_token("100042", ISSUED, PRIVATE)
    assert classify(token, "RU").kind is IdKind.MEMBER_QR
    assert classify(token[:40], "RU").kind is IdKind.MEMBER_QR
    assert classify(f"  {token}\r\n", "RU").value == token
