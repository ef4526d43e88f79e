"""The fault-injecting proxy itself, against a small counting HTTP server on loopback.

Each fault must look to an httpx client like the real failure it imitates, and the upstream
must see the request exactly when the fault says it is forwarded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.faultproxy import FORWARDING_FAULTS, Fault, FaultProxy

BODY = json.dumps({"pad": "x" * 2000}).encode()


class _Upstream(ThreadingHTTPServer):
    daemon_threads = True
    seen = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Upstream

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with self.server.lock:
            self.server.seen += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def upstream() -> Iterator[_Upstream]:
    server = _Upstream(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def proxy(upstream: _Upstream) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", upstream.server_address[1]), stall_seconds=2.0) as live:
        yield live


def _client(proxy: FaultProxy, read: float = 5.0) -> httpx.Client:
    return httpx.Client(base_url=proxy.url, timeout=httpx.Timeout(read, connect=2.0))


def _post(client: httpx.Client) -> httpx.Response:
    return client.post("/v1/thing", content=b'{"a": 1}', headers={"Idempotency-Key": "k"})


def test_pass_through_keeps_the_connection_and_the_body(
    proxy: FaultProxy, upstream: _Upstream
) -> None:
    with _client(proxy) as client:
        for _ in range(3):
            answer = _post(client)
            assert answer.status_code == 200 and answer.content == BODY
    assert upstream.seen == 3 and proxy.forwarded == 3 and proxy.injected == []


@pytest.mark.parametrize(
    ("fault", "failure"),
    [
        (Fault.RESET_MID_RESPONSE, httpx.TransportError),
        (Fault.STALL, httpx.ReadTimeout),
        (Fault.TRUNCATE, httpx.RemoteProtocolError),
        (Fault.ERROR_500, None),
        (Fault.ERROR_500_AFTER_FORWARD, None),
    ],
)
def test_each_request_fault_fails_the_client_and_forwards_only_when_it_says(
    proxy: FaultProxy,
    upstream: _Upstream,
    fault: Fault,
    failure: type[Exception] | None,
) -> None:
    with _client(proxy, read=0.5) as client:
        assert _post(client).status_code == 200  # a warm keep-alive connection
        proxy.set_fault(fault)
        if failure is None:
            answer = _post(client)
            assert answer.status_code == 500 and answer.json()["code"] == "internal"
        else:
            with pytest.raises(failure):
                _post(client)
        assert proxy.wait_idle(timeout=10)  # a stalled request is forwarded late
    assert proxy.count(fault) == 1
    assert upstream.seen == 1 + (fault in FORWARDING_FAULTS)
    proxy.heal()
    with _client(proxy) as client:
        assert _post(client).content == BODY


@pytest.mark.parametrize(
    ("fault", "failure"),
    [(Fault.REFUSE, httpx.ConnectError), (Fault.RESET_ON_ACCEPT, httpx.TransportError)],
)
def test_connection_faults_reset_open_connections_and_fail_new_ones(
    proxy: FaultProxy, upstream: _Upstream, fault: Fault, failure: type[Exception]
) -> None:
    port = proxy.port
    with _client(proxy) as pooled:
        assert _post(pooled).status_code == 200
        proxy.set_fault(fault)
        with pytest.raises(httpx.TransportError):
            _post(pooled)  # the open keep-alive connection is reset
    with _client(proxy) as fresh, pytest.raises(failure):
        _post(fresh)
    assert upstream.seen == 1 and proxy.count(fault) >= 1
    proxy.heal()
    assert proxy.port == port  # a closed listener comes back on the same port
    with _client(proxy) as client:
        assert _post(client).content == BODY


def test_faults_start_after_the_given_number_of_requests(
    proxy: FaultProxy, upstream: _Upstream
) -> None:
    proxy.set_fault(Fault.ERROR_500, after=2)
    with _client(proxy) as client:
        codes = [_post(client).status_code for _ in range(4)]
    assert codes == [200, 200, 500, 500]
    assert upstream.seen == 2 and proxy.count(Fault.ERROR_500) == 2


def test_a_dead_upstream_resets_the_client_and_can_be_repointed(upstream: _Upstream) -> None:
    spare = _Upstream(("127.0.0.1", 0), _Handler)
    spare_port = spare.server_address[1]
    spare.server_close()  # nothing listens there now
    with FaultProxy(("127.0.0.1", spare_port)) as proxy, _client(proxy) as client:
        with pytest.raises(httpx.TransportError):
            _post(client)
        proxy.upstream = ("127.0.0.1", upstream.server_address[1])
        assert _post(client).content == BODY
    assert upstream.seen == 1


def test_repointing_moves_open_connections_to_the_new_upstream(upstream: _Upstream) -> None:
    other = _Upstream(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=other.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with (
            FaultProxy(("127.0.0.1", upstream.server_address[1])) as proxy,
            _client(proxy) as client,
        ):
            assert _post(client).status_code == 200
            proxy.upstream = ("127.0.0.1", other.server_address[1])
            assert _post(client).status_code == 200  # same client connection
    finally:
        other.shutdown()
        other.server_close()
        thread.join(10)
    assert (upstream.seen, other.seen) == (1, 1)


def test_close_stops_every_thread_even_mid_stall(upstream: _Upstream) -> None:
    proxy = FaultProxy(("127.0.0.1", upstream.server_address[1]), stall_seconds=30.0).start()
    idle = _client(proxy)
    assert _post(idle).status_code == 200  # an idle keep-alive connection stays open
    proxy.set_fault(Fault.STALL)
    stalled = _client(proxy, read=10.0)
    errors: list[Exception] = []

    def send() -> None:
        try:
            _post(stalled)
        except httpx.HTTPError as error:
            errors.append(error)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert proxy.wait_busy(timeout=10)  # the stalled request is in flight
        proxy.close()
        sender.join(10)
        assert not sender.is_alive() and len(errors) == 1
        assert upstream.seen == 1  # the stall was abandoned, never forwarded
        assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]
    finally:
        idle.close()
        stalled.close()
