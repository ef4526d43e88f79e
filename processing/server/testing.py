"""Start the real server on loopback for tests and demos: ``running_server(db_path)``.

The server runs in a background thread of this process on a free port; the database is
migrated, seeded with the demo program, catalog and named members (plus ``members``
generated ones) and a till key is made. Time can be injected (``clock``) so tests can move
past hold and code expiry without sleeping. ``timezone`` is the server's default calendar
(UTC unless told); ``add_till(..., timezone=...)`` gives a store its own.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from processing.server import auth, seed, zones
from processing.server.codes import latest_codes
from processing.server.context import Clock, ServerContext, system_clock
from processing.server.engine import open_storage
from processing.server.readlimit import OFF, ReadLimit
from processing.server.runner import bind, make_server
from processing.server.sms import DevSmsSink, SmsGateway


class ManualClock:
    """A clock that moves only when told to (thread-safe enough: one writer, the test)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class RunningServer:
    """A live server: its base URL, a valid till key, and its context (clock, storage)."""

    url: str
    api_key: str
    ctx: ServerContext

    def add_till(self, store_id: str, till_id: str, timezone: str | None = None) -> str:
        """Another till's key (``timezone``: set or change its store's, IANA)."""
        with self.ctx.storage.write() as db:
            return auth.add_till(db, store_id, till_id, self.ctx.now(), timezone)

    def latest_code(self, phone: str) -> str:
        """The newest development SMS code sent to ``phone`` (E.164)."""
        with self.ctx.storage.read() as db:
            for row in latest_codes(db, 200):
                if row["phone"] == phone:
                    return str(row["code"])
        raise LookupError(f"no code was sent to {phone}")


@contextmanager
def running_server(
    db_path: Path | str,
    *,
    members: int = 0,
    clock: Clock = system_clock,
    seed_demo: bool = True,
    hold_ttl: int = 600,
    synchronous: str = "FULL",
    startup_timeout: float = 20.0,
    timezone: str = zones.DEFAULT_NAME,
    sms: SmsGateway | None = None,
    read_limit: ReadLimit = OFF,
) -> Iterator[RunningServer]:
    """A seeded server on 127.0.0.1:<free port> for the duration of the block (``timezone``:
    the calendar of stores without their own, as ``serve --timezone``; ``sms``: where codes
    go, the development sink unless told; ``read_limit``: each till's reads, off unless told —
    many tests make hundreds of reads on a clock that does not move, and the limit's own tests
    give one).

    Raises RuntimeError when the server does not start within ``startup_timeout`` seconds.
    """
    zone = zones.load(timezone)
    storage = open_storage(db_path, synchronous=synchronous)
    ctx = ServerContext(
        storage=storage,
        clock=clock,
        hold_ttl=hold_ttl,
        timezone=zone,
        sms=DevSmsSink() if sms is None else sms,
        reads=read_limit,
    )
    now = ctx.now()
    with storage.write() as db:
        if seed_demo:
            seed.seed_demo(db, now, generated=members)
        api_key = auth.add_till(db, "S1", "T1", now)
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    server = make_server(ctx)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="processing-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("The processing server did not start.")
        time.sleep(0.01)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", api_key, ctx)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        storage.close()


@contextmanager
def server_process(
    db_path: Path | str,
    startup_timeout: float = 30.0,
    *,
    workers: int = 1,
    timezone: str = zones.DEFAULT_NAME,
    extra_args: Sequence[str] = (),
    scheme: str = "http",
    port_file: Path | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """``python -m processing.server serve --demo`` on a free loopback port, in its own
    process (``workers`` > 1: with that many server processes; ``timezone``: ``serve
    --timezone``; ``extra_args``: more options, such as the TLS ones, with ``scheme`` "https";
    ``port_file``: where it announces its port, next to ``db_path`` unless told — give one for
    a PostgreSQL DSN, and a different one for each of several nodes on one database; ``log``:
    where its log and any traceback go, else nowhere).

    The database must already be seeded (``seed_demo``: hence ``--demo``). Yields the base URL;
    terminates the process (by its own pid) on exit. Raises RuntimeError when it does not
    announce its port in time.
    """
    if port_file is None:
        port_file = Path(f"{db_path}.port")  # a PostgreSQL DSN needs ``port_file`` given
    port_file.unlink(missing_ok=True)
    sink = None if log is None else log.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "processing.server",
            "serve",
            "--db",
            str(db_path),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--workers",
            str(workers),
            "--timezone",
            timezone,
            "--demo",
            *extra_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if sink is None else sink,
    )
    if sink is not None:
        sink.close()  # the child has its own copy
    try:
        deadline = time.monotonic() + startup_timeout
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("The processing server process did not start.")
            time.sleep(0.05)
        yield f"{scheme}://127.0.0.1:{int(port_file.read_text())}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        port_file.unlink(missing_ok=True)
