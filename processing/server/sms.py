"""Where SMS codes go: the :class:`SmsGateway` seam and its two implementations.

- :class:`DevSmsSink` keeps every message in the ``sms_outbox`` table (``till processing
  codes`` shows them) — codes in plain text in the database, so for development, tests and
  ``till demo`` only: ``serve`` uses it only with ``--demo``, and it logs a code only when told
  to (the demo's console).
- :class:`WebhookSmsGateway` POSTs ``{"phone", "text"}`` as JSON to the operator's URL (their
  adapter to an SMS provider), from a background thread, so no write transaction waits on the
  network; nothing of the message is stored and the text (the code) is never logged.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Protocol

import httpx

from loyalty.phones import mask_phone
from processing.server.engine import Database

log = logging.getLogger("processing.sms")

DEMO_SPEC = "demo"
"""The gateway spec of ``serve --demo``: the development sink, logging codes."""


class SmsGateway(Protocol):
    """Where codes go. ``send`` runs inside the request's write transaction on ``db``."""

    def send(self, db: Database, phone: str, text: str, code: str, now: int) -> None: ...


class DevSmsSink:
    """Development gateway: keeps every message in ``sms_outbox``; ``log_codes``: log the
    message too (phone masked), for a demo's console — never on a real server."""

    def __init__(self, *, log_codes: bool = False) -> None:
        self.log_codes = log_codes

    def send(self, db: Database, phone: str, text: str, code: str, now: int) -> None:
        db.execute(
            "INSERT INTO sms_outbox (phone, text, code, created_at) VALUES (?, ?, ?, ?)",
            [phone, text, code, now],
        )
        if self.log_codes:
            log.info("demo SMS to %s: %s", mask_phone(phone), text)


class WebhookSmsGateway:
    """Sends each message as ``POST url {"phone": E.164, "text": ...}`` from a worker thread.

    A message is handed over when its code is written, before that transaction commits (a
    failed commit may leave a code sent that nobody can use; the customer asks again). An
    answer other than 2xx, or no answer within ``timeout``, is retried up to ``attempts``
    times, then logged (masked phone, status only) and dropped.
    """

    def __init__(self, url: str, *, timeout: float = 5.0, attempts: int = 3) -> None:
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self._queue: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, db: Database, phone: str, text: str, code: str, now: int) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sms-webhook", daemon=True)
                self._thread.start()
        self._queue.put((phone, text))

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as http:
            while (item := self._queue.get()) is not None:
                self._deliver(http, *item)

    def _deliver(self, http: httpx.Client, phone: str, text: str) -> None:
        problem = ""
        for _ in range(self.attempts):
            try:
                answer = http.post(self.url, json={"phone": phone, "text": text})
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
                continue
            if answer.is_success:
                return
            problem = f"HTTP {answer.status_code}"
        log.warning("SMS to %s not delivered to the webhook: %s", mask_phone(phone), problem)

    def close(self) -> None:
        """Send what is queued, then stop the worker."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)


def gateway_for(spec: str) -> SmsGateway:
    """The gateway ``serve`` was told to use: :data:`DEMO_SPEC` or a webhook URL."""
    if spec == DEMO_SPEC:
        return DevSmsSink(log_codes=True)
    return WebhookSmsGateway(spec)
