"""Where SMS codes go: the :class:`SmsGateway` seam and its two implementations.

- :class:`DevSmsSink` keeps every message in the ``sms_outbox`` table (``till processing
  codes`` shows them) — codes in plain text in the database, so for development, tests and
  ``till demo`` only: ``serve`` uses it only with ``--demo``, and it logs a code only when told
  to (the demo's console).
- :class:`WebhookSmsGateway` POSTs ``{"phone", "text"}`` as JSON to the operator's URL (their
  adapter to an SMS provider), or talks to the provider itself as a provider file says
  (:mod:`processing.server.sms_provider`: URL, method, auth, body template, timeouts, retries,
  the answer's delivery status), from a background thread, so no write transaction waits on the
  network; nothing of the message is stored and the text (the code) is never logged.

A message leaves only once the write that made it has committed
(:func:`~processing.server.engine.after_commit`): a write run again after a serialisation
failure, or rolled back, sends nothing of the attempt that did not commit.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import stamina

from loyalty.phones import mask_phone
from processing.server.engine import Database, after_commit
from processing.server.sms_provider import HttpProvider, verdict
from processing.server.sms_provider import load as load_provider

log = logging.getLogger("processing.sms")

DEMO_SPEC = "demo"
"""The gateway spec of ``serve --demo``: the development sink, logging codes."""

PROVIDER_SPEC = "provider:"
"""The gateway spec of ``serve --sms-provider FILE``: ``provider:`` + the file's path."""

KEPT_DELIVERIES = 1000
"""How many recent delivery outcomes a gateway keeps (:attr:`WebhookSmsGateway.deliveries`)."""


@dataclass(frozen=True)
class Delivery:
    """One message's outcome: the phone masked, never the text."""

    phone: str
    delivered: bool
    attempts: int
    http_status: int | None
    message_id: str | None
    """The provider's id of the message (its answer's ``id_field``)."""
    status: str | None
    """The provider's verdict (its answer's ``status_field``)."""
    problem: str


class _TryAgain(Exception):
    """A network error, 429 or 5xx: worth another attempt."""


class SmsGateway(Protocol):
    """Where codes go. ``send`` runs inside the request's write transaction on ``db``; what
    leaves the server waits for that transaction's COMMIT."""

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
            after_commit(lambda: log.info("demo SMS to %s: %s", mask_phone(phone), text))


class WebhookSmsGateway:
    """Sends each message from a worker thread: as ``POST url {"phone": E.164, "text": ...}``,
    or as ``provider`` says (:class:`~processing.server.sms_provider.HttpProvider`).

    A message is handed to the worker once the transaction that wrote its code has committed
    (a serialisation retry of that write sends the retry's code alone, once). A network
    error, no answer within ``timeout``, 429 or 5xx is retried (stamina: exponential backoff
    with jitter) up to ``attempts`` times; another 4xx, or an answer whose status the provider
    file does not count as accepted, fails at once. Each outcome is logged (masked
    phone, status, the provider's message id) and kept in :attr:`deliveries`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        provider: HttpProvider | None = None,
        wait_initial: float = 0.2,
    ) -> None:
        self.provider = provider or HttpProvider(url=url, timeout=timeout, attempts=attempts)
        self.url = self.provider.url
        self.wait_initial = wait_initial
        self.deliveries: collections.deque[Delivery] = collections.deque(maxlen=KEPT_DELIVERIES)
        self._queue: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, db: Database, phone: str, text: str, code: str, now: int) -> None:
        after_commit(lambda: self._hand_over(phone, text))

    def _hand_over(self, phone: str, text: str) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sms-webhook", daemon=True)
                self._thread.start()
        self._queue.put((phone, text))

    def _run(self) -> None:
        with httpx.Client(timeout=self.provider.timeout, follow_redirects=False) as http:
            while (item := self._queue.get()) is not None:
                self.deliveries.append(self._deliver(http, *item))

    def _request(self, http: httpx.Client, phone: str, text: str) -> httpx.Response:
        p = self.provider
        body = p.render(phone, text)
        if p.method == "GET":
            joiner = "&" if "?" in p.url else "?"
            return http.get(f"{p.url}{joiner}{body}", headers=p.headers(), auth=p.basic())
        return http.request(
            p.method, p.url, content=body.encode(), headers=p.headers(), auth=p.basic()
        )

    def _deliver(self, http: httpx.Client, phone: str, text: str) -> Delivery:
        attempts = 0
        answer: httpx.Response | None = None
        problem = ""
        try:
            for attempt in stamina.retry_context(
                on=_TryAgain,
                attempts=self.provider.attempts,
                timeout=None,
                wait_initial=self.wait_initial,
                wait_max=5.0,
                wait_jitter=self.wait_initial,
            ):
                with attempt:
                    attempts += 1
                    try:
                        answer = self._request(http, phone, text)
                    except httpx.HTTPError as exc:
                        problem = type(exc).__name__
                        raise _TryAgain from None
                    if answer.status_code == 429 or answer.status_code >= 500:
                        problem = f"HTTP {answer.status_code}"
                        raise _TryAgain
        except _TryAgain:
            pass
        outcome = self._outcome(phone, attempts, answer, problem)
        if outcome.delivered:
            log.info(
                "SMS to %s handed to the provider (id %s, %s)",
                outcome.phone, outcome.message_id or "-", outcome.status or "accepted",
            )  # fmt: skip
        else:
            log.warning("SMS to %s not delivered: %s", outcome.phone, outcome.problem)
        return outcome

    def _outcome(
        self, phone: str, attempts: int, answer: httpx.Response | None, problem: str
    ) -> Delivery:
        masked = mask_phone(phone)
        if answer is None or not answer.is_success:
            status = None if answer is None else answer.status_code
            why = problem or f"HTTP {status}"
            return Delivery(masked, False, attempts, status, None, None, why)
        try:
            data = answer.json()
        except ValueError:
            data = None
        ok, message_id, status_text = verdict(self.provider, data)
        why = "" if ok else f"the provider answered {status_text!r}"
        return Delivery(masked, ok, attempts, answer.status_code, message_id, status_text, why)

    def close(self) -> None:
        """Send what is queued, then stop the worker."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)


def gateway_for(spec: str) -> SmsGateway:
    """The gateway ``serve`` was told to use: :data:`DEMO_SPEC`, :data:`PROVIDER_SPEC` + a
    provider file's path (checked by ``serve`` before it starts), or a webhook URL."""
    if spec == DEMO_SPEC:
        return DevSmsSink(log_codes=True)
    if spec.startswith(PROVIDER_SPEC):
        provider = load_provider(Path(spec.removeprefix(PROVIDER_SPEC)))
        return WebhookSmsGateway(provider.url, provider=provider)
    return WebhookSmsGateway(spec)
