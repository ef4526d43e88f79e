"""The client's transport: timeouts, retries with one key, the circuit breaker, hostile answers.

The misbehaving servers here are real sockets on loopback (a listener that never answers, a
tiny HTTP server that answers garbage), not mocks.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from processing.breaker import BreakerState, CircuitBreaker
from processing.client import ClientSettings, ProcessingClient
from processing.errors import Offline, ProtocolError, ServerError

FAST = ClientSettings(connect_timeout=0.5, read_timeout=0.3, attempts=2, backoff=0.01)


@contextmanager
def silent_listener() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@contextmanager
def answering(status: int, body: bytes, seen: list[dict[str, str]]) -> Iterator[str]:
    """A real HTTP server answering every request with ``status`` and ``body``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(dict(self.headers))
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused
    return f"http://127.0.0.1:{port}"


def test_refused_connection_is_offline() -> None:
    with ProcessingClient(free_port_url(), "till_x", FAST) as client, pytest.raises(Offline):
        client.health()


def test_silent_server_times_out_as_offline() -> None:
    sleeps: list[float] = []
    with (
        silent_listener() as url,
        ProcessingClient(url, "till_x", FAST, sleep=sleeps.append) as c,
        pytest.raises(Offline, match="did not answer in time"),
    ):
        c.identify("+79161234567")
    assert sleeps == [0.01]  # one retry, after the short backoff


def test_retries_resend_the_same_idempotency_key() -> None:
    seen: list[dict[str, str]] = []
    busy = b'{"code":"internal","message":"busy","details":{}}'
    with (
        answering(503, busy, seen) as url,
        ProcessingClient(url, "till_x", FAST, sleep=lambda s: None) as client,
        pytest.raises(ServerError),
    ):
        client.confirm("check-1", idempotency_key="key-123")
    keys = [h.get("Idempotency-Key") for h in seen]
    assert keys == ["key-123", "key-123"]


def test_breaker_opens_and_fails_fast_then_probe_closes_it() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown=30, clock=lambda: now[0])
    url = free_port_url()
    with ProcessingClient(url, "till_x", FAST, breaker=breaker, sleep=lambda s: None) as client:
        with pytest.raises(Offline):
            client.health()  # two attempts, two failures: the breaker opens
        assert breaker.state is BreakerState.OPEN
        with pytest.raises(Offline, match="offline"):
            client.health()  # fails fast, no network
        assert client.probe() is False
    seen: list[dict[str, str]] = []
    body = b'{"status":"ok","version":"1","time":"2026-01-01T00:00:00Z"}'
    with (
        answering(200, body, seen) as url,
        ProcessingClient(url, "till_x", FAST, breaker=breaker) as client,
    ):
        assert breaker.state is BreakerState.OPEN
        assert client.probe() is True
        assert breaker.state is BreakerState.CLOSED
        assert client.health().status == "ok"


def test_breaker_half_opens_after_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=lambda: now[0])
    breaker.record_failure()
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"status":"ok"}',
        b'{"member": 1}',
        # Floats for points: refused, never silently rounded into local state.
        b'{"check_id":"c","member_id":"m","status":"confirmed","earned":1.5,"spent":"0",'
        b'"balance_after":"0","message":{"key":"k","text":"t"}}',
    ],
)
def test_malformed_answers_raise_protocol_error(body: bytes) -> None:
    with (
        answering(200, body, []) as url,
        ProcessingClient(url, "till_x", FAST) as client,
        pytest.raises(ProtocolError),
    ):
        client.confirm("c", idempotency_key="k")


def test_error_without_shape_is_protocol_error() -> None:
    with (
        answering(409, b'{"oops": true}', []) as url,
        ProcessingClient(url, "t", FAST) as client,
        pytest.raises(ProtocolError),
    ):
        client.cancel("c", idempotency_key="k")
