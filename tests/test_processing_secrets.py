"""The server keeps its secrets: a private database, no development SMS sink or published demo
QR key outside a demo, fresh keys from ``seed``, and TLS through uvicorn's own options."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import ssl
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from loyalty.program import DEMO_QR_PRIVATE_KEY
from processing.client import ClientSettings, ProcessingClient
from processing.server import seed
from processing.server.cli import processing
from processing.server.context import QR_PRIVATE_KEY_SETTING
from processing.server.sms import DevSmsSink, WebhookSmsGateway
from processing.server.storage import Storage, get_setting
from processing.server.testing import running_server, server_process

ROOT = Path(__file__).resolve().parent.parent


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_server_database_and_its_wal_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        storage = Storage(tmp_path / "processing.db")
        with storage.write() as db:
            db.execute("INSERT INTO settings (key, value) VALUES ('x', 'y')")
        files = [tmp_path / "processing.db", tmp_path / "processing.db-wal"]
        files.append(tmp_path / "processing.db-shm")
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        storage.close()
        # A database made before this rule (0644) is tightened when opened.
        loose = tmp_path / "old.db"
        Storage(loose).close()
        loose.chmod(0o644)
        Storage(loose).close()
        assert _mode(loose) == 0o600
    finally:
        os.umask(old)


def _seeded(path: Path, *, demo: bool) -> Path:
    args = ["seed", "--db", str(path)] + (["--demo"] if demo else [])
    result = CliRunner().invoke(processing, args)
    assert result.exit_code == 0, result.output
    return path


def _private_key(path: Path) -> str | None:
    storage = Storage(path)
    try:
        with storage.read() as db:
            return get_setting(db, QR_PRIVATE_KEY_SETTING)
    finally:
        storage.close()


def test_seed_without_demo_makes_a_fresh_qr_key_pair(tmp_path: Path) -> None:
    first = _private_key(_seeded(tmp_path / "a.db", demo=False))
    second = _private_key(_seeded(tmp_path / "b.db", demo=False))
    assert first is not None and second is not None
    assert first != second and DEMO_QR_PRIVATE_KEY not in (first, second)


def test_serve_refuses_the_dev_sink_and_the_demo_key_outside_a_demo(tmp_path: Path) -> None:
    real = _seeded(tmp_path / "real.db", demo=False)
    refused = CliRunner().invoke(processing, ["serve", "--db", str(real), "--port", "0"])
    assert refused.exit_code != 0
    assert "--sms-webhook" in refused.output and "--demo" in refused.output
    assert "Traceback" not in refused.output
    demo = _seeded(tmp_path / "demo.db", demo=True)
    args = ["serve", "--db", str(demo), "--port", "0", "--sms-webhook", "http://127.0.0.1:9/sms"]
    published = CliRunner().invoke(processing, args)
    assert published.exit_code != 0 and "demo QR key" in published.output
    args = ["serve", "--db", str(demo), "--demo", "--sms-webhook", "http://127.0.0.1:9/sms"]
    both = CliRunner().invoke(processing, args)
    assert both.exit_code != 0 and "Traceback" not in both.output


def test_the_dev_sink_logs_codes_only_in_a_demo(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = Storage(tmp_path / "p.db")
    caplog.set_level(logging.DEBUG)
    with storage.write() as db:
        DevSmsSink().send(db, "+79161234567", "Your code: 424242", "424242", 0)
    assert "424242" not in caplog.text and "4567" not in caplog.text
    with storage.write() as db:
        DevSmsSink(log_codes=True).send(db, "+79161234567", "Your code: 515151", "515151", 0)
    assert "515151" in caplog.text and "+79161234567" not in caplog.text
    storage.close()


class _Inbox(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, str]]] = []
    arrived: ClassVar[threading.Event] = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()
        type(self).arrived.set()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def inbox() -> Iterator[str]:
    _Inbox.received = []
    _Inbox.arrived = threading.Event()
    http = HTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}/sms"
    finally:
        http.shutdown()
        http.server_close()


def test_codes_go_out_through_the_webhook_and_stay_out_of_the_database(
    tmp_path: Path, inbox: str
) -> None:
    gateway = WebhookSmsGateway(inbox)
    try:
        with running_server(tmp_path / "p.db", sms=gateway, synchronous="NORMAL") as server:
            with ProcessingClient(server.url, server.api_key, ClientSettings(attempts=1)) as c:
                sent = c.register("+79165550101", consent=True)
            assert _Inbox.arrived.wait(10)
            (message,) = _Inbox.received
            assert message["phone"] == "+79165550101" and message["text"].startswith("Your code")
            code = message["text"].rsplit(" ", 1)[-1]
            with server.ctx.storage.read() as db:
                assert db.execute("SELECT COUNT(*) FROM sms_outbox").fetchone()[0] == 0
            with ProcessingClient(server.url, server.api_key, ClientSettings(attempts=1)) as c:
                assert c.confirm_registration(sent.code_id, code).member.id
    finally:
        gateway.close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_serve_speaks_tls_with_uvicorns_own_options(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    storage = Storage(db)
    with storage.write() as sdb:
        seed.seed_demo(sdb, 0)
    storage.close()
    cert, key = _self_signed(tmp_path)
    tls = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    with server_process(db, extra_args=tls, scheme="https") as url:
        assert url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(cert))
        answer = httpx.get(f"{url}/v1/health", verify=trust, timeout=10)
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        with pytest.raises(httpx.HTTPError):
            httpx.get(url.replace("https://", "http://") + "/v1/health", timeout=5)


def test_the_readmes_production_steps_do_not_seed_the_demo_key() -> None:
    readme = (ROOT / "README.md").read_text()
    real_till = readme[readme.index("## Setting up a real till") :]
    real_till = real_till[: real_till.index("\n## ", 5)]
    assert "seed --demo" not in real_till
    assert "--ssl-certfile" in real_till and "--sms-webhook" in real_till
