"""The floor server: a bare ASGI app on uvicorn, started exactly as ``till processing serve``.

``python -m benchmarks.bare_asgi DB ANSWER PORT_FILE`` builds the product's uvicorn server
(``processing.server.runner.make_server``: the same uvicorn flags, event loop, HTTP parser,
keep-alive and backlog, on a socket from the same ``bind``, with the heap frozen the same
way), swaps in :func:`app` for the FastAPI application, and serves on a free loopback port,
written to PORT_FILE once listening. Whatever request it gets, it reads the body and answers
200 with the bytes of the file ANSWER as ``application/json`` — an answer the real server
gave, so the client parses the very same bytes. The difference between the two servers is
then exactly the product's own handling: FastAPI, auth, validation, the ledger query and the
answer's serialisation.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from processing.server import runner
from processing.server.context import ServerContext
from processing.server.storage import Storage

_ANSWER: bytes = b"{}"
_HEADERS: list[tuple[bytes, bytes]] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the request body, answer the recorded bytes."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _ANSWER})


def main(db_path: str, answer_path: str, port_file: str) -> None:
    global _ANSWER, _HEADERS
    _ANSWER = Path(answer_path).read_bytes()
    _HEADERS = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_ANSWER)).encode()),
    ]
    ctx = ServerContext(storage=Storage(db_path))
    sock = runner.bind("127.0.0.1", 0)
    server = runner.make_server(ctx)
    server.config.app = app  # the product's uvicorn config, with the bare app in FastAPI's place

    def announce() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.02)
        runner.write_port_file(Path(port_file), int(sock.getsockname()[1]))

    threading.Thread(target=announce, daemon=True).start()
    runner._freeze_heap()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        ctx.storage.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
