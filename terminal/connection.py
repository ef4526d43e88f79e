"""The till's one connection state: does the processing server answer?

Derived from the processing client alone: every call's outcome and every background probe
feed it (:meth:`processing.client.ProcessingClient.on_outcome`); nothing else writes it.
Whoever shows it subscribes and is told once per change: the app turns that into one
:class:`~terminal.messages.ConnectionChanged` message for the status line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from processing.client import ProcessingClient

log = logging.getLogger(__name__)

ChangeListener = Callable[[bool], None]
"""Told the new state (True: online) on the thread whose call changed it."""


class Connection:
    """Online or offline, as the processing client last found the server."""

    online: bool = True
    """True until a call or a probe finds the server unreachable; written only by the client's
    outcomes (:meth:`_record`)."""

    def __init__(self, client: ProcessingClient) -> None:
        self._lock = threading.Lock()
        self._listeners: list[ChangeListener] = []
        client.on_outcome(self._record)

    def subscribe(self, listener: ChangeListener) -> None:
        """Tell ``listener`` every change from now on."""
        self._listeners.append(listener)

    def _record(self, answered: bool) -> None:
        with self._lock:
            changed = answered != self.online
            self.online = answered
        if not changed:
            return
        log.info("processing server %s", "online" if answered else "offline")
        for listener in list(self._listeners):
            try:
                listener(answered)
            except Exception:  # the UI may be gone (shutdown); the state itself is recorded
                log.exception("connection listener failed")
