"""The sale's hot requests skip FastAPI's outer layers (processing.server.front): what those
layers did for them must still happen — a crash is a logged 500 in the app's own words, and a
body the fast routes refuse still gets FastAPI's answer."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest

from processing.server import routes_checks
from processing.server.testing import RunningServer

ANNA = "100001"
LINE = {"name": "bread", "price": "40.00", "quantity": "1", "amount": "40.00"}


def _post(server: RunningServer, path: str, body: object) -> httpx.Response:
    return httpx.post(
        f"{server.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )


def test_a_crash_in_a_hot_route_is_a_logged_500_in_the_apps_words(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(routes_checks, "calculate", broken)
    with caplog.at_level(logging.ERROR, logger="processing.server"):
        answer = _post(
            server,
            "/v1/calculate",
            {"check_id": str(uuid.uuid4()), "member_id": ANNA, "lines": [LINE]},
        )
    assert answer.status_code == 500
    assert answer.json() == {
        "code": "internal",
        "message": "The server failed; try again.",
        "details": {},
    }
    assert "fire" not in answer.text  # nothing of the failure is told
    assert any("request failed" in r.message and r.exc_info for r in caplog.records)


def test_hot_routes_answer_and_a_body_they_refuse_gets_fastapis_answer(
    server: RunningServer,
) -> None:
    check = {"check_id": str(uuid.uuid4()), "member_id": ANNA, "lines": [LINE]}
    assert _post(server, "/v1/calculate", check).status_code == 200
    refused = _post(server, "/v1/calculate", {**check, "lines": [{**LINE, "price": 40}]})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_request"
    unknown = _post(
        server, "/v1/identify", {"kind": "auto", "value": "+79990000000", "entry": "typed"}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_member"
