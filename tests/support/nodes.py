"""Server nodes on one PostgreSQL for the multi-node tests: separate ``serve`` processes (as
on separate machines behind a load balancer) sharing nothing but the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from processing.server import auth, seed
from processing.server.pg import PgStorage

ROOT = Path(__file__).resolve().parent.parent.parent


@contextmanager
def node(dsn: str, tmp_path: Path, name: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``serve --db <dsn>`` in its own process on a free port: the process and its URL."""
    port_file = tmp_path / f"{name}.port"
    port_file.unlink(missing_ok=True)
    errors = (tmp_path / f"{name}.stderr").open("ab")  # lives as long as the node
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "processing.server", "serve", "--db", dsn),
            *("--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file), "--demo"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (tmp_path / f"{name}.stderr").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"node {name} did not start (exit {process.poll()}):\n{tail}")
            time.sleep(0.05)
        yield process, f"http://127.0.0.1:{int(port_file.read_text())}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait(timeout=10)
        errors.close()


def seed_tills(dsn: str, tills: int) -> list[str]:
    """Seed the demo program and members into ``dsn``; the API keys of ``tills`` new tills."""
    storage = PgStorage(dsn, pool_size=1)
    now = int(time.time())
    try:
        with storage.write() as db:
            seed.seed_demo(db, now)
            return [auth.add_till(db, "S1", f"T{i}", now) for i in range(tills)]
    finally:
        storage.close()
