"""Identify every way, and authentication, against the real server on loopback."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from loyalty.program import DEMO_QR_PRIVATE_KEY
from loyalty.qrtoken import issue_token
from processing.client import ProcessingClient
from processing.errors import Rejected, Unauthorized
from processing.server.members import card_number
from processing.server.testing import ManualClock, RunningServer

ANNA = "+79161234567"


def test_identify_by_phone_in_local_format(client: ProcessingClient) -> None:
    result = client.identify("8 916 123-45-67", region="RU")
    assert result.identified_by == "phone"
    assert result.member.name == "Анна Смирнова"
    assert result.member.phone_masked == "+7 916 ***-**-67"
    assert result.balance.available == Decimal("1500.00")
    assert result.balance.frozen_total == Decimal("45.00")
    assert result.balance.expiring_total == Decimal("300.00")
    assert [c.code for c in result.coupons] == ["WELCOME10"]
    assert result.offers and result.offers[0].auto_apply
    assert result.member.tier.next_name == "Silver"
    assert result.member.tier.to_next == Decimal("6800.00")


def test_identify_by_card_and_by_qr(client: ProcessingClient, clock: ManualClock) -> None:
    by_card = client.identify(card_number(1), entry="scanned")
    assert by_card.identified_by == "card" and by_card.entry == "scanned"
    assert by_card.member.id == "100001"
    token = issue_token("100001", clock(), DEMO_QR_PRIVATE_KEY)
    by_qr = client.identify(token, entry="scanned")
    assert by_qr.identified_by == "qr" and by_qr.member.id == "100001"


def test_expired_qr_is_refused_with_its_reason(
    client: ProcessingClient, clock: ManualClock
) -> None:
    token = issue_token("100001", clock() - timedelta(hours=1), DEMO_QR_PRIVATE_KEY)
    with pytest.raises(Rejected) as caught:
        client.identify(token, kind="qr")
    assert caught.value.code == "invalid_token"
    assert caught.value.details["reason"] == "expired"


def test_unknown_and_invalid_identifiers(client: ProcessingClient) -> None:
    with pytest.raises(Rejected) as unknown:
        client.identify("+79169999999")
    assert unknown.value.code == "unknown_member" and unknown.value.status == 404
    with pytest.raises(Rejected) as bad:
        client.identify("12345", kind="phone")
    assert bad.value.code == "invalid_phone"


def test_member_states_are_reported(client: ProcessingClient) -> None:
    assert client.identify("+79161234570").member.state == "earn_only"
    assert client.identify("+79161234571").member.state == "blocked"
    assert client.identify("+77011234567").member.tier.name == "Gold"


def test_auth_failures_get_a_bare_401(server: RunningServer) -> None:
    with ProcessingClient(server.url, "till_wrong-key") as wrong, pytest.raises(Unauthorized):
        wrong.identify(ANNA)
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        response = httpx.post(f"{server.url}/v1/identify", json={"value": ANNA}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "code": "unauthorized",
            "message": "Unauthorized.",
            "details": {},
        }
    # Unknown routes say nothing either without a key.
    assert httpx.get(f"{server.url}/v1/nothing-here").status_code == 401


def test_revoked_key_stops_working(server: RunningServer) -> None:
    key = server.add_till("S2", "T9")
    assert httpx.get(
        f"{server.url}/v1/program", headers={"Authorization": f"Bearer {key}"}
    ).is_success
    server.add_till("S2", "T9")  # re-adding the till revokes the old key
    server.ctx.keys._cache.clear()  # the 5-second cache would otherwise keep it for a moment
    response = httpx.get(f"{server.url}/v1/program", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


def test_health_needs_no_key(server: RunningServer) -> None:
    response = httpx.get(f"{server.url}/v1/health")
    assert response.status_code == 200 and response.json()["program_version"] == 1


def test_invalid_body_is_422_in_the_error_shape(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    for body in ({"value": 1.5}, {"value": "x", "extra": 1}, {}):
        response = httpx.post(f"{server.url}/v1/identify", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_request"
    response = httpx.post(f"{server.url}/v1/identify", content=b"{not json", headers=headers)
    assert response.status_code == 422
