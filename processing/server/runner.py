"""Running the server: uvicorn on a socket we bind ourselves, so port 0 works and the real
port is known (and can be written to a port file for a parent process)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

import uvicorn

from processing.server.app import create_app
from processing.server.context import ServerContext


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
    # the socket says it is TCP; without it every keep-alive answer waits ~40 ms for the
    # peer's delayed ACK (Nagle), as uvicorn writes headers and body separately.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def make_server(ctx: ServerContext, log_level: str = "warning") -> uvicorn.Server:
    ctx.storage.start_committer()  # its connection is open before the first write arrives
    config = uvicorn.Config(
        create_app(ctx),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        backlog=512,
    )
    return uvicorn.Server(config)


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` atomically, so a reader never sees a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


def serve(ctx: ServerContext, host: str, port: int, port_file: Path | None = None) -> None:
    """Serve until interrupted; writes the bound port to ``port_file`` once listening."""
    sock = bind(host, port)
    actual = int(sock.getsockname()[1])
    server = make_server(ctx, log_level="info")
    if port_file is not None:

        def announce() -> None:
            for _ in range(600):
                if server.started:
                    write_port_file(port_file, actual)
                    return
                if server.should_exit:
                    return
                threading.Event().wait(0.05)

        threading.Thread(target=announce, name="port-file", daemon=True).start()
    logging.getLogger("processing.server").info("listening on %s:%d", host, actual)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        ctx.storage.close()
