"""The generic HTTP SMS provider against a provider stub that is a real HTTP server on
loopback: URL, method, auth, body template, timeouts, retries and the delivery status."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from processing.client import ClientSettings, ProcessingClient
from processing.server.cli import processing
from processing.server.sms import PROVIDER_SPEC, Delivery, WebhookSmsGateway, gateway_for
from processing.server.sms_provider import ProviderError, parse
from processing.server.testing import running_server

PHONE = "+79165550101"


class _Stub(BaseHTTPRequestHandler):
    """Answers from ``script`` in turn (status, JSON body, seconds to wait first), then the
    last one for ever; keeps every request."""

    script: ClassVar[list[tuple[int, dict[str, str], float]]] = []
    seen: ClassVar[list[dict[str, object]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        _Stub.seen.append(
            {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query),
                "headers": dict(self.headers),
                "body": self.rfile.read(length).decode(),
            }
        )
        index = min(len(_Stub.seen), len(_Stub.script)) - 1
        status, body, delay = _Stub.script[index]
        time.sleep(delay)
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the gateway gave up waiting

    do_POST = do_GET = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[str]:
    _Stub.script, _Stub.seen = [(200, {}, 0.0)], []
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}"
    finally:
        http.shutdown()
        http.server_close()


def _send(gateway: WebhookSmsGateway, text: str, phone: str = PHONE) -> Delivery:
    gateway.send(None, phone, text, "", 0)  # type: ignore[arg-type]  # the db is not used
    gateway.close()
    (delivery,) = gateway.deliveries
    return delivery


def test_json_post_with_bearer_auth_is_retried_after_5xx_and_reports_the_id(stub: str) -> None:
    provider = parse(
        f"""[sms]
url = "{stub}/api/send"
body = '{{"to": "{{phone_digits}}", "message": "{{text}}", "sender": "SHOP"}}'
auth = "bearer"
token_env = "SMS_TOKEN"
attempts = 3
id_field = "message_id"
status_field = "status"
ok_statuses = ["accepted"]
""",
        {"SMS_TOKEN": "s3cret"},
    )
    accepted = {"message_id": "m-7", "status": "accepted"}
    _Stub.script = [(503, {}, 0.0), (503, {}, 0.0), (200, accepted, 0.0)]
    text = 'Your code "1234"\nДо встречи'
    delivery = _send(WebhookSmsGateway(provider.url, provider=provider, wait_initial=0.01), text)
    assert delivery == Delivery("+7 916 ***-**-01", True, 3, 200, "m-7", "accepted", "")
    assert len(_Stub.seen) == 3
    last = _Stub.seen[-1]
    assert (last["method"], last["path"]) == ("POST", "/api/send")
    headers = last["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"] == "Bearer s3cret"
    assert json.loads(str(last["body"])) == {"to": "79165550101", "message": text, "sender": "SHOP"}


def test_get_with_basic_auth_sends_the_query_and_a_4xx_is_not_retried(stub: str) -> None:
    provider = parse(
        f"""[sms]
url = "{stub}/sendsms?login=shop"
method = "GET"
body = "phones={{phone}}&mes={{text}}"
auth = "basic"
user = "shop"
token_env = "SMS_PASSWORD"
""",
        {"SMS_PASSWORD": "pw"},
    )
    _Stub.script = [(400, {"error": "bad sender"}, 0.0)]
    delivery = _send(
        WebhookSmsGateway(provider.url, provider=provider, wait_initial=0.01), "Код 1234 & ok"
    )
    assert (delivery.delivered, delivery.attempts, delivery.problem) == (False, 1, "HTTP 400")
    (request,) = _Stub.seen
    assert request["query"] == {"login": ["shop"], "phones": [PHONE], "mes": ["Код 1234 & ok"]}
    headers = request["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"shop:pw").decode()


def test_a_rejected_status_and_a_timeout_are_failed_deliveries(stub: str) -> None:
    provider = parse(
        f"""[sms]
url = "{stub}/send"
content_type = "application/x-www-form-urlencoded"
body = "to={{phone}}&text={{text}}"
status_field = "status"
ok_statuses = ["queued"]
timeout = 0.3
attempts = 2
"""
    )
    _Stub.script = [(200, {"status": "rejected"}, 0.0)]
    rejected = _send(WebhookSmsGateway(provider.url, provider=provider), "a b")
    assert (rejected.delivered, rejected.status) == (False, "rejected")
    assert rejected.problem == "the provider answered 'rejected'"
    assert parse_qs(str(_Stub.seen[0]["body"])) == {"to": [PHONE], "text": ["a b"]}
    _Stub.seen, _Stub.script = [], [(200, {"status": "queued"}, 1.0)]
    slow = _send(WebhookSmsGateway(provider.url, provider=provider, wait_initial=0.01), "x")
    assert (slow.delivered, slow.attempts, slow.problem) == (False, 2, "ReadTimeout")


def test_a_bad_provider_file_is_one_sentence_naming_its_key(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match=r"^sms.token_env: the environment variable T"):
        parse('[sms]\nurl = "https://x"\nauth = "bearer"\ntoken_env = "T"\n', {})
    with pytest.raises(ProviderError, match=r"^sms.body must contain \{text\}\.$"):
        parse('[sms]\nurl = "https://x"\nbody = "{phone}"\n', {})
    with pytest.raises(ProviderError, match=r"^sms.colour is not a provider setting\.$"):
        parse('[sms]\nurl = "https://x"\ncolour = 1\n', {})
    bad = tmp_path / "sms.toml"
    bad.write_text('[sms]\nurl = "ftp://x"\n')
    served = CliRunner().invoke(
        processing, ["serve", "--db", str(tmp_path / "p.db"), "--sms-provider", str(bad)]
    )
    assert served.exit_code == 1
    assert served.output == f"Error: --sms-provider {bad}: sms.url must be an http(s) URL.\n"


def test_the_server_sends_codes_through_a_provider_file(tmp_path: Path, stub: str) -> None:
    file = tmp_path / "sms.toml"
    file.write_text(
        f'[sms]\nurl = "{stub}/v1/sms"\nbody = \'{{"n": "{{phone}}", "t": "{{text}}"}}\'\n'
    )
    gateway = gateway_for(PROVIDER_SPEC + str(file))
    assert isinstance(gateway, WebhookSmsGateway)
    try:
        with (
            running_server(tmp_path / "p.db", sms=gateway, synchronous="NORMAL") as server,
            ProcessingClient(server.url, server.api_key, ClientSettings(attempts=1)) as c,
        ):
            sent = c.register(PHONE, consent=True)
            deadline = time.monotonic() + 10
            while not _Stub.seen and time.monotonic() < deadline:
                time.sleep(0.02)
            message = json.loads(str(_Stub.seen[0]["body"]))
            assert message["n"] == PHONE
            code = message["t"].rsplit(" ", 1)[-1]
            assert c.confirm_registration(sent.code_id, code).member.id
    finally:
        gateway.close()
    assert [d.delivered for d in gateway.deliveries] == [True]
