"""Run the bridge: uvicorn in a daemon thread with its own event loop, beside the Textual app.

The UI's loop never serves a register call (a slow server must not freeze the cashier's
screen), and the bridge's calls run in uvicorn's worker threads. The socket is bound here,
before the thread starts, so a port already in use is one sentence at start-up rather than a
thread that dies quietly.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from terminal.bridge.views import BridgedCart
from terminal.errors import TillError
from terminal.i18n import _
from terminal.services import TillServices

START_TIMEOUT_S = 10.0
"""Most seconds the bridge may take to start listening."""
STOP_TIMEOUT_S = 5.0
"""Most seconds to wait for the bridge's thread on exit."""


class RunningBridge:
    """A started bridge: where it listens and how to stop it."""

    def __init__(self, url: str, stop: Callable[[], None]) -> None:
        self.url = url
        """The bridge's base URL (the real port when 0 was asked for)."""
        self.stop = stop
        """Stop serving and join the thread (bounded)."""


def start_bridge(
    services: TillServices,
    *,
    wake_printer: Callable[[], None] = lambda: None,
    on_change: Callable[[BridgedCart], object] = lambda cart: None,
) -> RunningBridge:
    """Serve the bridge on ``[bridge] host:port`` for ``services``; ``on_change`` hears of
    every change of the register's receipt (the app posts it to the sale screen).

    Raises TillError (one sentence) when the address cannot be bound or the server does not
    start in time.
    """
    import uvicorn

    from terminal.bridge.app import make_bridge_app
    from terminal.bridge.register import RegisterBridge

    section = services.settings.bridge
    key = section.key.get_secret_value() if section.key else None
    bridge = RegisterBridge(services, wake_printer=wake_printer, on_change=on_change)
    app = make_bridge_app(bridge, key or None)
    family = socket.AF_INET6 if ":" in section.host else socket.AF_INET
    try:
        sock = socket.create_server((section.host, section.port), family=family)
    except OSError as error:
        raise TillError(
            _("The register bridge cannot listen on {host}:{port} ({reason}).").format(
                host=section.host, port=section.port, reason=error.strerror or error
            )
        ) from error
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="register-bridge", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise TillError(_("The register bridge did not start."))
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT_S)
        sock.close()

    host = "127.0.0.1" if section.host == "localhost" else section.host
    shown = f"[{host}]" if ":" in host else host
    return RunningBridge(f"http://{shown}:{port}", stop)
