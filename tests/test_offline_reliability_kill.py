"""kill -9: a child commits offline checks in a loop and drains; it is killed ≥50 times.

After each restart and a final sync, the server's ledger holds exactly the checks the till
committed — every check the child reported as accepted is there, none twice. Real parts only:
the real server on loopback, real SQLite files, real processes and SIGKILL.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from offline_cache.db import open_database
from offline_cache.link import ProcessingTransport
from offline_cache.outbox import verify_chain
from offline_cache.sync import SyncEngine
from processing.client import ProcessingClient
from processing.server.testing import running_server

KILLS = 50
ROOT = Path(__file__).resolve().parent.parent

# A zygote imports everything once and forks one child per run, so 50 restarts cost
# milliseconds each instead of a full interpreter start; each child is a fresh process
# (its own SQLite connection and HTTP client) that is killed with SIGKILL.
ZYGOTE = textwrap.dedent(
    """
    import os, sys, uuid
    from datetime import UTC, datetime
    from decimal import Decimal
    from offline_cache.checks import CheckRecord, commit_check
    from offline_cache.db import open_database
    from offline_cache.link import ProcessingTransport
    from offline_cache.sync import SyncEngine
    from processing.client import ClientSettings, ProcessingClient

    db_path, url, key = sys.argv[1:4]

    def run(out):
        db = open_database(db_path)
        client = ProcessingClient(url, key, ClientSettings(attempts=1))
        engine = SyncEngine(db_path, ProcessingTransport(client), batch_size=4)
        out.write("ready\\n")
        n = 0
        while True:
            check_id = str(uuid.uuid4())
            spend = Decimal("1.00") if n % 3 == 0 else Decimal("0")
            payload = {
                "check_id": check_id, "member_id": "100001",
                "lines": [{"name": "bread", "price": "50.00", "quantity": "1",
                           "amount": "50.00"}],
                "spent_offline": str(spend), "provisional_earn": "1.50",
                "made_at": datetime.now(UTC).isoformat(),
            }
            commit_check(db, CheckRecord(check_id, "100001", Decimal("50.00"),
                                         Decimal("1.50"), spend, offline=True,
                                         payload=payload, provisional=True))
            out.write(f"accepted {check_id}\\n")
            n += 1
            if n % 3 == 0:
                out.write("sending\\n")
                engine.drain()
                out.write("sent\\n")

    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            out = open(line.strip(), "w", buffering=1)
            try:
                run(out)
            finally:
                os._exit(1)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
    """
)


def _wait_for(log: Path, word: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and any(line == word for line in log.read_text().splitlines()):
            return
        time.sleep(0.005)
    raise AssertionError(f"the child never wrote {word!r}")


def _run_child(
    zygote: subprocess.Popen[str], log: Path, mid_send: bool, rng: random.Random
) -> list[str]:
    """Fork a child, kill -9 it at a random moment (or right after it starts sending)."""
    assert zygote.stdin is not None and zygote.stdout is not None
    zygote.stdin.write(f"{log}\n")
    zygote.stdin.flush()
    pid = int(zygote.stdout.readline())
    try:
        _wait_for(log, "ready")
        if mid_send:
            _wait_for(log, "sending")
        else:
            time.sleep(rng.uniform(0.0, 0.2))
    finally:
        os.kill(pid, signal.SIGKILL)
        assert zygote.stdout.readline().strip() == "reaped"
    return [line.split()[1] for line in log.read_text().splitlines() if line.startswith("accepted")]


def test_kill_nine_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(4)
    script = tmp_path / "zygote.py"
    script.write_text(ZYGOTE)
    till_db = tmp_path / "till.db"
    server_db = tmp_path / "server.db"
    accepted: list[str] = []
    with running_server(server_db) as server:
        zygote = subprocess.Popen(
            [sys.executable, str(script), str(till_db), server.url, server.api_key],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            for kill in range(KILLS):
                log = tmp_path / f"run-{kill}.log"
                accepted += _run_child(zygote, log, mid_send=kill % 3 == 0, rng=rng)
        finally:
            assert zygote.stdin is not None
            zygote.stdin.close()
            zygote.wait(timeout=20)
        with ProcessingClient(server.url, server.api_key) as client:
            report = SyncEngine(till_db, ProcessingTransport(client)).drain()
        assert report.remaining == 0 and not report.dead, report
        db = open_database(till_db)
        committed = {row[0] for row in db.execute("SELECT id FROM outbox")}
        assert verify_chain(db) == len(committed)
        assert set(accepted) <= committed, "a check the till accepted was lost"
        assert len(accepted) >= KILLS
        ledger = sqlite3.connect(server_db)
        on_server = [row[0] for row in ledger.execute("SELECT id FROM checks")]
        assert sorted(on_server) == sorted(committed), "server ledger differs from the till"
        spends = ledger.execute(
            "SELECT check_id, count(*) FROM movements WHERE points < 0 AND check_id IS NOT NULL"
            " GROUP BY check_id HAVING count(*) > 1"
        ).fetchall()
        assert spends == [], "a spend was applied twice"
        ledger.close()
