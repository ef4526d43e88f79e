"""An SMS leaves the server once, after the write that made its code has committed: a write
run again after a serialisation failure sends the code of the run that committed, and only
that one; a write rolled back sends nothing. Against an SMS webhook that is a real HTTP server
on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest

from processing.client import ClientSettings, ProcessingClient
from processing.server.engine import Database, open_storage
from processing.server.sms import WebhookSmsGateway

PHONE = "+79165550123"

FAIL_FIRST_COMMIT = """
CREATE SEQUENCE test_code_commits;
CREATE FUNCTION test_fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- What PostgreSQL does to one of two conflicting serialisable transactions, at COMMIT.
    IF nextval('test_code_commits') = 1 THEN
        RAISE EXCEPTION 'forced conflict' USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER test_fail_first_commit AFTER INSERT ON codes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_first_commit();
"""


class _Inbox(BaseHTTPRequestHandler):
    """The operator's SMS webhook: keeps every message, accepts it."""

    messages: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        _Inbox.messages.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def inbox() -> Iterator[str]:
    _Inbox.messages = []
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}/sms"
    finally:
        http.shutdown()
        http.server_close()


def test_a_code_write_retried_after_a_serialisation_failure_sends_one_sms(
    pg_dsn: str, inbox: str
) -> None:
    from processing.server.testing import running_server

    gateway = WebhookSmsGateway(inbox)
    try:
        with running_server(pg_dsn, sms=gateway, synchronous="NORMAL") as server:
            with psycopg.connect(pg_dsn, autocommit=True) as conn:
                conn.execute(FAIL_FIRST_COMMIT)
            with ProcessingClient(server.url, server.api_key, ClientSettings(attempts=1)) as c:
                sent = c.register(PHONE, consent=True)
                gateway.close()  # every message handed over has been delivered
                with psycopg.connect(pg_dsn, autocommit=True) as conn:
                    commits = conn.execute("SELECT last_value FROM test_code_commits").fetchone()
                assert commits is not None and commits[0] == 2  # the write ran twice
                assert [m["phone"] for m in _Inbox.messages] == [PHONE]
                code = _Inbox.messages[0]["text"].rsplit(" ", 1)[-1]
                # The one SMS carries the code of the run that committed.
                assert c.confirm_registration(sent.code_id, code).member.id
    finally:
        gateway.close()


def test_a_write_rolled_back_sends_nothing_and_one_committed_sends_once(
    db_target: str | Path, inbox: str
) -> None:
    gateway = WebhookSmsGateway(inbox)
    storage = open_storage(db_target, synchronous="NORMAL")

    def refused(db: Database) -> None:
        gateway.send(db, PHONE, "Your code: 111111", "111111", 0)
        raise RuntimeError("refused after the code was made")

    def kept(db: Database) -> None:
        gateway.send(db, PHONE, "Your code: 222222", "222222", 0)

    try:
        with pytest.raises(RuntimeError):
            storage.submit(refused).result(timeout=30)
        with pytest.raises(RuntimeError), storage.write() as db:
            refused(db)
        storage.submit(kept).result(timeout=30)
        gateway.close()
        assert [m["text"] for m in _Inbox.messages] == ["Your code: 222222"]
    finally:
        gateway.close()
        storage.close()
