"""Running the server: uvicorn on a socket we bind ourselves, so port 0 works and the real
port is known (and can be written to a port file for a parent process).

``workers`` > 1 runs that many server processes on one port (SO_REUSEPORT: the kernel spreads
new connections over them), each with its own connections and committer thread on the same
database file. That is safe because nothing a request relies on lives only in one process:
writes are serialised across processes by BEGIN IMMEDIATE on SQLite (see :mod:`storage`), or
by serialisable transactions on PostgreSQL (:mod:`pg`, where the processes may as well run on
several machines behind a load balancer), idempotency
records are looked up inside that write transaction, the program cache is checked against
the stored version on every request, and a revoked key is refused by every process within
the key cache's few seconds.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import socket
import threading
from dataclasses import dataclass
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path

import uvicorn

from processing.server import limits, zones
from processing.server.app import create_app
from processing.server.context import ServerContext
from processing.server.engine import open_storage
from processing.server.front import HotFront
from processing.server.limits import BoundedHttpTools
from processing.server.readlimit import ReadLimit
from processing.server.sms import gateway_for


@dataclass(frozen=True)
class Tls:
    """Serve HTTPS: uvicorn's own ``ssl_certfile``/``ssl_keyfile`` (PEM files)."""

    certfile: Path
    keyfile: Path


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port); ``reuse_port``: other
    processes may listen on the same port (each gets a share of the new connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
    # the socket says it is TCP; without it every keep-alive answer waits ~40 ms for the
    # peer's delayed ACK (Nagle), as uvicorn writes headers and body separately.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def make_server(
    ctx: ServerContext, log_level: str = "warning", tls: Tls | None = None
) -> uvicorn.Server:
    ctx.storage.start_committer()  # its connection is open before the first write arrives
    config = uvicorn.Config(
        HotFront(create_app(ctx)),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        proxy_headers=False,  # no proxy in front; the client address is the peer's
        # Bounds on what one connection may cost (processing.server.limits): header size and
        # read time in our httptools protocol (h11's own option should it be the one used).
        http=BoundedHttpTools,
        h11_max_incomplete_event_size=limits.MAX_HEADER_BYTES,
        timeout_keep_alive=limits.KEEP_ALIVE_SECONDS,
        backlog=512,
        ssl_certfile=None if tls is None else str(tls.certfile),
        ssl_keyfile=None if tls is None else str(tls.keyfile),
    )
    return uvicorn.Server(config)


def _freeze_heap() -> None:
    """Call in a server process just before it serves: everything loaded so far (modules, the
    app, pydantic's validators) lives as long as the process, so keep it out of the cyclic
    collector's full passes, which would otherwise walk it all again and again under load (a
    pause that every request in flight waits out). Not for in-process test servers."""
    gc.collect()
    gc.freeze()


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` atomically, so a reader never sees a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


def _worker(
    db_path: str,
    synchronous: str,
    timezone: str,
    host: str,
    port: int,
    ready: MpEvent,
    sms: str,
    tls: Tls | None,
    reads: tuple[float, int],
) -> None:
    """One more server process on ``host:port`` (runs in a spawned child of :func:`serve`)."""
    parent = os.getppid()
    ctx = ServerContext(
        storage=open_storage(db_path, synchronous=synchronous),
        timezone=zones.load(timezone),
        sms=gateway_for(sms),
        reads=ReadLimit(*reads),  # its own buckets: the limit is per process
    )
    sock = bind(host, port, reuse_port=True)
    server = make_server(ctx, log_level="warning", tls=tls)

    def watch() -> None:
        while not server.should_exit:
            if server.started:
                ready.set()
            if os.getppid() != parent:  # the main process is gone: do not serve on alone
                server.should_exit = True
            threading.Event().wait(0.2)

    threading.Thread(target=watch, name="worker-watch", daemon=True).start()
    _freeze_heap()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        ctx.storage.close()


def serve(
    ctx: ServerContext,
    host: str,
    port: int,
    port_file: Path | None = None,
    *,
    workers: int = 1,
    sms: str,
    tls: Tls | None = None,
) -> None:
    """Serve until interrupted; writes the bound port to ``port_file`` once every worker is
    listening. ``workers`` > 1: this process and ``workers - 1`` spawned ones share the port
    (and ``ctx.timezone``, the default calendar of stores without their own, and
    ``ctx.reads``' rate and burst, each with its own buckets); each spawned one
    sends SMS codes through ``gateway_for(sms)`` (``ctx.sms`` is this process's) and serves
    HTTPS when ``tls`` is given."""
    sock = bind(host, port, reuse_port=workers > 1)
    actual = int(sock.getsockname()[1])
    spawn = multiprocessing.get_context("spawn")
    children: list[multiprocessing.process.BaseProcess] = []
    readies: list[MpEvent] = []
    for _ in range(workers - 1):
        ready = spawn.Event()
        child = spawn.Process(
            target=_worker,
            args=(
                ctx.storage.location,
                ctx.storage.synchronous,
                zones.name_of(ctx.timezone),
                host,
                actual,
                ready,
                sms,
                tls,
                (ctx.reads.rate, ctx.reads.burst),
            ),
            name="processing-worker",
            daemon=True,
        )
        child.start()
        children.append(child)
        readies.append(ready)
    server = make_server(ctx, log_level="info", tls=tls)
    if port_file is not None:

        def announce() -> None:
            for _ in range(1200):
                if server.started and all(r.is_set() for r in readies):
                    write_port_file(port_file, actual)
                    return
                if server.should_exit:
                    return
                threading.Event().wait(0.05)

        threading.Thread(target=announce, name="port-file", daemon=True).start()
    logging.getLogger("processing.server").info(
        "listening on %s://%s:%d, worker processes: %d, default timezone: %s",
        "http" if tls is None else "https",
        host,
        actual,
        workers,
        zones.name_of(ctx.timezone),
    )
    _freeze_heap()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        for process in children:
            process.terminate()
        for process in children:
            process.join(timeout=10)
        ctx.storage.close()
