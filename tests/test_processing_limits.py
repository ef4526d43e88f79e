"""Bounded requests against the real server on loopback: body size (413), header size (431),
a request read timeout, batch and line counts in the schema (422), and a replay batch applied
in bounded write transactions."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from processing import wire
from processing.client import ProcessingClient
from processing.server import limits
from processing.server.testing import RunningServer


def _raw(server: RunningServer, request: bytes, *, timeout: float = 10) -> bytes:
    """Send ``request`` bytes as they are; everything the server answers until it closes."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _error(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_a_declared_body_above_the_limit_is_refused_before_it_is_read(
    server: RunningServer,
) -> None:
    for path in ("/v1/identify", "/v1/checks/c-1/hold", "/v1/checks/offline/batch"):
        answer = _raw(
            server,
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.api_key}\r\n"
            f"Content-Type: application/json\r\nIdempotency-Key: k-1\r\n"
            f"Content-Length: {limits.MAX_BODY_BYTES + 1}\r\nConnection: close\r\n\r\n".encode(),
        )
        status, body = _error(answer)
        assert (status, body["code"]) == (413, "request_too_large"), path
        assert body["details"]["limit_bytes"] == limits.MAX_BODY_BYTES


def test_a_chunked_body_above_the_limit_is_refused(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_BODY_BYTES", 4096)

    def chunks() -> Iterator[bytes]:
        yield b'{"value": "'
        for _ in range(10):
            yield b"7" * 1000
        yield b'"}'

    headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
    answer = httpx.post(f"{server.url}/v1/identify", content=chunks(), headers=headers)
    assert answer.status_code == 413 and answer.json()["code"] == "request_too_large"
    # A small chunked body still gets through whole.
    small = httpx.post(
        f"{server.url}/v1/identify",
        content=iter([b'{"value": "+7916', b'1234567"}']),
        headers=headers,
    )
    assert small.status_code == 200 and small.json()["member"]["id"] == "100001"


def test_headers_above_the_limit_are_refused(server: RunningServer) -> None:
    filler = "a" * 1000
    lines = "".join(
        f"X-Filler-{n}: {filler}\r\n" for n in range(limits.MAX_HEADER_BYTES // 1000 + 2)
    )
    answer = _raw(server, f"GET /v1/health HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
    status, body = _error(answer)
    assert (status, body["code"]) == (431, "headers_too_large")
    # One header line that never ends is refused too, not buffered for ever.
    endless = b"GET /v1/health HTTP/1.1\r\nX-Endless: " + b"b" * (limits.MAX_HEADER_BYTES + 10)
    status, body = _error(_raw(server, endless))
    assert (status, body["code"]) == (431, "headers_too_large")


def test_a_request_that_trickles_in_is_cut_off(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "REQUEST_READ_TIMEOUT", 0.2)
    # Half a request line and never the rest: the server answers 408 and hangs up (the socket
    # timeout only bounds the test if it did not).
    answer = _raw(server, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n", timeout=30)
    status, body = _error(answer)
    assert (status, body["code"]) == (408, "request_timeout")


def test_the_schema_states_the_limits(server: RunningServer) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    parts = schema["components"]["schemas"]
    assert parts["CheckRequest"]["properties"]["lines"]["maxItems"] == limits.MAX_LINES
    assert parts["OfflineCheck"]["properties"]["lines"]["maxItems"] == limits.MAX_LINES
    assert parts["ReplayBatchRequest"]["properties"]["items"]["maxItems"] == limits.MAX_BATCH
    batch = schema["paths"]["/v1/checks/offline/batch"]["post"]["responses"]
    assert "413" in batch


def _offline(n: int, lines: int = 1) -> wire.ReplayItem:
    line = wire.Line(
        name="Хлеб", category="bakery", price=Decimal("10.00"), quantity=Decimal("1"),
        amount=Decimal("10.00"),
    )  # fmt: skip
    check = wire.OfflineCheck(
        check_id=f"off-{n}",
        member_id="100001",
        lines=[line] * lines,
        made_at=datetime.now(UTC),
    )
    return wire.ReplayItem(idempotency_key=f"off-key-{n}", check=check)


def test_a_replay_batch_holds_the_write_lock_for_a_bounded_share_of_it(
    client: ProcessingClient, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = server.ctx.storage
    submit = storage.submit
    sizes: list[int] = []

    def counting(fn: Callable[[Any], list[str]]) -> Future[list[str]]:
        def run(db: Any) -> list[str]:
            parts = fn(db)
            sizes.append(len(parts))
            return parts

        return submit(run)

    monkeypatch.setattr(storage, "submit", counting)
    items = [_offline(n) for n in range(limits.MAX_BATCH)]
    results = client.replay_batch(items)
    assert [r.status for r in results] == ["applied"] * limits.MAX_BATCH
    assert sum(sizes) == limits.MAX_BATCH and max(sizes) <= limits.BATCH_ITEMS_PER_WRITE
    # Long checks: the lines bound splits sooner than the item bound.
    sizes.clear()
    per = limits.MAX_LINES
    long_items = [_offline(1000 + n, per) for n in range(limits.BATCH_LINES_PER_WRITE // per + 1)]
    assert [r.status for r in client.replay_batch(long_items)] == ["applied"] * len(long_items)
    assert len(sizes) == 2 and sizes[0] * per <= limits.BATCH_LINES_PER_WRITE
    # A replay of the whole batch answers every item the same, as duplicates.
    again = client.replay_batch(items)
    assert [r.status for r in again] == ["duplicate"] * limits.MAX_BATCH
    assert [r.result for r in again] == [r.result for r in results]


def test_too_many_lines_or_items_are_422(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}", "Idempotency-Key": "big-1"}
    item = json.loads(_offline(1).model_dump_json())
    body = {"items": [item] * (limits.MAX_BATCH + 1)}
    answer = httpx.post(f"{server.url}/v1/checks/offline/batch", json=body, headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_request"
    check = json.loads(_offline(2).check.model_dump_json())
    check["lines"] = check["lines"] * (limits.MAX_LINES + 1)
    answer = httpx.post(f"{server.url}/v1/checks/offline", json=check, headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_request"
