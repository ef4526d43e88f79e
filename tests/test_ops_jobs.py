"""``jobs run`` burns expired lots into the ledger, releases stale holds and tells members of
points about to expire, once: two runs at the same moment share the work, never do it twice."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from click.testing import CliRunner

from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.server import ledger
from processing.server.cli import processing
from processing.server.ops import audit
from processing.server.storage import Storage
from processing.server.testing import ManualClock, running_server

GENERATED = 1500
ANNA = "100001"
MILK = "4600070000014"


def _jobs(db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "processing.server", "jobs", "run", "--demo", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _numbers(output: str) -> tuple[int, int, int]:
    found = re.fullmatch(
        r"Burnt (\d+) expired lots \([\d.]+ points\) of \d+ members; released (\d+) stale"
        r" holds; told (\d+) members of points about to expire\.\n",
        output,
    )
    assert found is not None, output
    return int(found.group(1)), int(found.group(2)), int(found.group(3))


def test_two_runs_at_once_burn_every_expired_lot_and_release_every_stale_hold_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "jobs.db"
    # An hour ago a till held points for a check and never came back: the hold is stale now.
    clock = ManualClock(datetime.now(UTC) - timedelta(hours=1))
    with (
        running_server(db, clock=clock, members=GENERATED, synchronous="NORMAL") as live,
        ProcessingClient(live.url, live.api_key, ClientSettings(attempts=1)) as client,
    ):
        line = wire.Line(
            barcode=MILK, name="Молоко", price=Decimal("1000"), quantity=Decimal(1),
            amount=Decimal(1000),
        )  # fmt: skip
        request = wire.CheckRequest(
            check_id="stale", member_id=ANNA, lines=[line], requested_spend=Decimal("100")
        )
        calc = client.calculate(request)
        client.hold(
            wire.HoldRequest(**request.model_dump(), fingerprint=calc.fingerprint),
            idempotency_key="h",
        )
    storage = Storage(db, synchronous="NORMAL")
    now = int(time.time())
    with storage.write() as conn:  # every generated member has a lot that expired yesterday
        owners = [str(r[0]) for r in conn.execute("SELECT id FROM members WHERE name IS NULL")]
        for member_id in owners:
            ledger.add_lot(
                conn, member_id, 100_00, kind="earn", now=now - 100 * 86400,
                active_from=now - 90 * 86400, expires_at=now - 86400,
            )  # fmt: skip
    storage.close()
    assert len(owners) == GENERATED
    first, second = _jobs(db), _jobs(db)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    counts = [_numbers(out) for out, _err in outputs]
    assert sum(lots for lots, _, _ in counts) == GENERATED
    assert sum(released for _, released, _ in counts) == 1
    assert sum(told for _, _, told in counts) == 1  # Мария: 80 points expire in 5 days
    with sqlite3.connect(db) as conn:
        burnt = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT lot_id) FROM movements WHERE kind = 'expire'"
        ).fetchone()
        releases = conn.execute(
            "SELECT COUNT(*) FROM movements WHERE kind = 'release' AND check_id = 'stale'"
        ).fetchone()[0]
        status = conn.execute("SELECT status FROM checks WHERE id = 'stale'").fetchone()[0]
        messages = conn.execute("SELECT phone, text FROM sms_outbox").fetchall()
    assert burnt == (GENERATED, GENERATED)
    assert releases == 1
    assert status == "expired"
    assert len(messages) == 1
    assert messages[0][0] == "+79161234569"
    assert messages[0][1].startswith("80.00 of your points expire soon, the first on ")
    third = _jobs(db)
    out, _ = third.communicate(timeout=120)
    assert _numbers(out) == (0, 0, 0)
    storage = Storage(db)
    with storage.read() as conn:
        assert audit.run(conn).breaks == []
    storage.close()


class _Provider(BaseHTTPRequestHandler):
    """An SMS provider's adapter on loopback: keeps every message it is sent."""

    received: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:  # quiet: phones never reach logs
        pass


def test_expiry_notices_go_to_the_webhook_and_only_with_a_gateway(tmp_path: Path) -> None:
    db = tmp_path / "notices.db"
    with running_server(db, synchronous="NORMAL"):
        pass  # seeded: Мария has 80 points expiring in 5 days
    silent = CliRunner().invoke(processing, ["jobs", "run", "--db", str(db)])
    assert silent.exit_code == 0
    assert silent.stderr.startswith("Expiry notices not sent: give --sms-webhook URL")
    assert _numbers(silent.stdout) == (0, 0, 0)
    provider = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{provider.server_address[1]}/sms"
        command = ["jobs", "run", "--sms-webhook", url, "--db", str(db)]
        sent = CliRunner().invoke(processing, command)
        again = CliRunner().invoke(processing, command)
    finally:
        provider.shutdown()
    assert _numbers(sent.stdout) == (0, 0, 1)
    assert _numbers(again.stdout) == (0, 0, 0)
    assert len(_Provider.received) == 1
    assert _Provider.received[0]["phone"] == "+79161234569"
    assert _Provider.received[0]["text"].startswith("80.00 of your points expire soon")


def test_jobs_refuse_a_bad_gateway_as_serve_does_before_touching_the_database(
    tmp_path: Path,
) -> None:
    db = tmp_path / "untouched.db"
    bad = tmp_path / "provider.toml"
    bad.write_text("url = 3\n", encoding="utf-8")
    refusals = {
        "Error: --sms-webhook: 'sms.example' is not an http(s) URL.": [
            "--sms-webhook",
            "sms.example",
        ],
        "Error: Give one of --sms-webhook, --sms-provider or --demo.": [
            "--demo",
            "--sms-webhook",
            "http://127.0.0.1:9/sms",
        ],
        f"Error: --sms-provider {bad}:": ["--sms-provider", str(bad)],
    }
    for sentence, options in refusals.items():
        for command in (["jobs", "run"], ["serve", "--port", "0"]):
            refused = CliRunner().invoke(processing, [*command, *options, "--db", str(db)])
            assert refused.exit_code == 1, refused.output
            lines = refused.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(sentence), (command, refused.output)
    assert not db.exists()
