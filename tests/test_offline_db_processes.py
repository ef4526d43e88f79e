"""Two processes on one till database: the app commits while `till status` and `till sync` run.

The app process holds its connection open and, like its sync, print and refresh workers, opens
more connections of its own between commits. Another process opens and closes the database
over and over (what `till status` and `till sync` do), and the real commands run too. Then the
app is killed with SIGKILL. Every sale the app reported committed must still be there, and
the app's WAL and SHM files must never have been unlinked under it while it lived (SQLite's
"How To Corrupt" §2.2: closing any descriptor of the file drops the process's POSIX locks).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from offline_cache.clock import utc_now
from offline_cache.db import open_database
from offline_cache.status import sync_status

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 60

APP = textwrap.dedent(
    """
    import os, sys, time, uuid
    from datetime import UTC, datetime
    from decimal import Decimal
    from offline_cache.checks import CheckRecord, commit_check
    from offline_cache.db import open_database

    db_path = sys.argv[1]

    def unlinked():
        # A file of the database this process still holds open but that is gone from disk.
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(db_path) and target.endswith("(deleted)"):
                return target
        return None

    db = open_database(db_path)
    print("ready", flush=True)
    while True:
        check_id = str(uuid.uuid4())
        payload = {
            "check_id": check_id, "member_id": "100001",
            "lines": [{"name": "bread", "price": "50.00", "quantity": "1", "amount": "50.00"}],
            "spent_offline": "0", "provisional_earn": "1", "made_at": datetime.now(UTC).isoformat(),
        }
        commit_check(db, CheckRecord(check_id, "100001", Decimal("50.00"), Decimal("1"),
                                     Decimal("0"), offline=True, payload=payload))
        print("accepted", check_id, flush=True)
        # The app's workers open connections of their own in this process.
        open_database(db_path).close()
        gone = unlinked()
        if gone:
            print("unlinked", gone, flush=True)
        time.sleep(0.005)
    """
)


def _till(config: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "terminal", command, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_status_and_sync_beside_the_app_lose_no_committed_sale(tmp_path: Path) -> None:
    db_path = tmp_path / "till.sqlite3"
    open_database(db_path).close()
    config = tmp_path / "config.toml"
    # Nothing listens on port 9 of loopback: `till sync` finds the server offline at once.
    config.write_text(
        f'[processing]\nurl = "http://127.0.0.1:9"\napi_key = "k"\n'
        f'[offline]\ndb_path = "{db_path}"\n',
        encoding="utf-8",
    )
    script = tmp_path / "app.py"
    script.write_text(APP, encoding="utf-8")
    app = subprocess.Popen(
        [sys.executable, str(script), str(db_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    codes: list[int] = []
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "ready"
        for round_ in range(ROUNDS):
            # What `till status` does, in this (other) process.
            db = open_database(db_path)
            sync_status(db, utc_now())
            db.close()
            if round_ in (10, 40):
                codes.append(_till(config, "status").returncode)
                codes.append(_till(config, "sync").returncode)
            time.sleep(0.01)
        alive = app.poll() is None
    finally:
        app.kill()  # SIGKILL
        app.wait(timeout=20)
    assert app.stdout is not None
    lines = app.stdout.read().splitlines()
    accepted = {line.split()[1] for line in lines if line.startswith("accepted")}
    unlinked = [line for line in lines if line.startswith("unlinked")]
    assert alive, "the app died beside `till status`"
    assert len(accepted) >= 10
    assert codes == [0, 2, 0, 2]  # status fine; sync finds the server offline, queue kept
    assert unlinked == [], "the app's WAL/SHM was deleted under it"
    db = open_database(db_path)
    stored = {row[0] for row in db.execute("SELECT id FROM outbox")}
    db.close()
    assert accepted <= stored, f"{len(accepted - stored)} committed sales vanished"
