"""Stores and tills: listed for the operator; a revoked key is refused at once by every server
process on the database (no cache lag), a rotated key replaces the old one."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from click.testing import CliRunner, Result

from processing.server import auth, seed
from processing.server.cli import processing
from processing.server.storage import Storage
from processing.server.testing import RunningServer, server_process


def run(*args: str) -> Result:
    return CliRunner().invoke(processing, list(args))


def _status(url: str, key: str) -> int:
    return httpx.get(f"{url}/v1/program", headers={"Authorization": f"Bearer {key}"}).status_code


def test_a_revoked_key_is_refused_on_the_next_request(server: RunningServer) -> None:
    db = server.ctx.storage.location
    key = server.add_till("S2", "T9", "Asia/Almaty")
    assert _status(server.url, key) == 200  # now in the server's key cache
    listed = run("tills", "list", "--db", db)
    assert listed.exit_code == 0, listed.output
    assert [line.split()[:3] for line in listed.output.splitlines()[1:]] == [
        ["S1", "T1", "active"],
        ["S2", "T9", "active"],
    ]
    revoked = run(
        "tills", "revoke", "--store", "S2", "--till", "T9", "--reason", "stolen",
        "--operator", "olga", "--db", db,
    )  # fmt: skip
    assert revoked.exit_code == 0, revoked.output
    assert _status(server.url, key) == 401
    assert _status(server.url, server.api_key) == 200  # the other tills go on
    stores = run("stores", "list", "--db", db)
    assert [line.split()[:4] for line in stores.output.splitlines()[1:]] == [
        ["S1", "(server", "default)", "1"],
        ["S2", "Asia/Almaty", "0", "1"],
    ]
    again = run("tills", "revoke", "--store", "S2", "--till", "T9", "--reason", "x", "--db", db)
    assert again.exit_code == 1
    assert again.output == "Error: Till T9 of store S2 has no key to revoke.\n"
    unknown = run("tills", "rotate-key", "--store", "S2", "--till", "T0", "--db", db)
    assert unknown.output.startswith("Error: There is no till T0 in store S2;")
    with server.ctx.storage.read() as conn:
        log = conn.execute("SELECT operator, action, subject, reason FROM operator_log").fetchall()
    assert log == [("olga", "till_revoke", "S2/T9", "stolen")]


def test_every_server_process_refuses_a_revoked_or_rotated_key_at_once(tmp_path: Path) -> None:
    db = tmp_path / "workers.db"
    storage = Storage(db)
    with storage.write() as conn:
        seed.seed_demo(conn, int(time.time()))
        stolen = auth.add_till(conn, "S1", "T1", int(time.time()))
        rotated = auth.add_till(conn, "S1", "T2", int(time.time()))
    storage.close()
    with server_process(db, workers=2) as url:
        # Several requests each: both processes have both keys in their caches.
        for _ in range(8):
            assert _status(url, stolen) == 200
            assert _status(url, rotated) == 200
        assert run("tills", "revoke", "--store", "S1", "--till", "T1", "--reason", "stolen",
                   "--db", str(db)).exit_code == 0  # fmt: skip
        fresh = run("tills", "rotate-key", "--store", "S1", "--till", "T2", "--db", str(db))
        assert fresh.exit_code == 0, fresh.output
        new_key = fresh.output.strip()
        for _ in range(8):
            assert _status(url, stolen) == 401
            assert _status(url, rotated) == 401
            assert _status(url, new_key) == 200
