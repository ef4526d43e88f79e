"""Messages that travel up to the app from device threads, workers and screens.

Screens never post into one another: a screen posts one of these to the app, which routes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from terminal.bridge.views import BridgedCart
from terminal.views import MemberView, SyncView

if TYPE_CHECKING:
    from offline_cache.registrations import PendingRegistration


class ScanReceived(Message):
    """A scanner (serial thread or keyboard-wedge burst) read one code."""

    def __init__(self, code: str, source: str) -> None:
        super().__init__()
        self.code = code
        """The decoded code, framing and AIM prefix already stripped."""
        self.source = source
        """serial or keyboard."""


class StatusRefreshed(Message):
    """The queue and connection state the status line shows."""

    def __init__(self, sync: SyncView, printer: str) -> None:
        super().__init__()
        self.sync = sync
        """Online flag and queue depth."""
        self.printer = printer
        """One word for the printer: ok, offline, none, or the number of jobs waiting."""


class ServicesReady(Message):
    """The services are built; the app starts its timers (and the test-only sale)."""


class BridgeCartChanged(Message):
    """The cash register's receipt changed (put, spent, finished, cancelled) via the bridge."""

    def __init__(self, cart: BridgedCart) -> None:
        super().__init__()
        self.cart = cart
        """The receipt as the sale screen shows it."""


class ConnectionChanged(Message):
    """The processing server started or stopped answering (the one connection state changed)."""

    def __init__(self, answers: bool) -> None:
        super().__init__()
        self.answers = answers
        """True: the server answers (online)."""


class CustomerChosen(Message):
    """A member became the sale's customer away from the sale screen (registration, a code of
    a registration queued offline); the app hands them to the sale screen."""

    def __init__(self, member: MemberView, sentence: str | None = None) -> None:
        super().__init__()
        self.member = member
        """The new customer."""
        self.sentence = sentence
        """What the sale screen says (None: its own "Customer found.")."""


class PendingFound(Message):
    """A worker found a registration queued offline for the typed phone: ask for its code."""

    def __init__(self, pending: PendingRegistration) -> None:
        super().__init__()
        self.pending = pending
        """The registration waiting for the customer's SMS code."""


class SettingsApplied(Message):
    """Saved settings are applied: the services were built again (the status line re-reads)."""
