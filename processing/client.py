"""The till's client for the processing server.

One :class:`ProcessingClient` per process: it owns one ``httpx.Client`` (building one costs
~18 ms, so never per call), explicit timeouts, a short retry budget and a circuit breaker.

Every write carries an ``Idempotency-Key``; a retry always resends the same key, so the
server applies a write once however many times it arrives. Every answer is validated against
:mod:`processing.wire` before it is returned: a malformed or hostile answer raises
:class:`~processing.errors.ProtocolError` and never reaches the caller's state.

Every outcome is reported to the listeners given to :meth:`ProcessingClient.on_outcome`: True
when the server answered (any well-formed HTTP answer below 500, or a successful probe), False
when it could not be reached, failed with 5xx, or a caller gave up waiting
(:meth:`ProcessingClient.gave_up_waiting`). The till derives its one connection state from these.

Raises (from every operation): :class:`~processing.errors.Offline`,
:class:`~processing.errors.Unauthorized`, :class:`~processing.errors.Rejected`,
:class:`~processing.errors.ServerError`, :class:`~processing.errors.ProtocolError`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from processing import wire
from processing.breaker import BreakerState, CircuitBreaker
from processing.errors import (
    Offline,
    ProtocolError,
    Rejected,
    ServerError,
    Unauthorized,
)

T = TypeVar("T", bound=BaseModel)

log = logging.getLogger(__name__)

OutcomeListener = Callable[[bool], None]
"""Told True when the server answered, False when it did not (called on the caller's thread)."""

_RETRY_STATUSES = frozenset({502, 503, 504})
_MAX_ANSWER_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ClientSettings:
    """Timeouts and budgets; the defaults suit a cashier who is waiting."""

    connect_timeout: float = 1.0
    """Seconds to open a TCP connection."""
    read_timeout: float = 3.0
    """Seconds to wait for the answer once the request is sent."""
    attempts: int = 2
    """Total tries of one call (1 = no retry); only transport failures and 502-504 retry."""
    retry_budget: float = 4.0
    """Seconds after which no new attempt starts, whatever ``attempts`` says."""
    backoff: float = 0.05
    """Seconds before the first retry; doubled for each further one."""
    breaker_threshold: int = 3
    """Consecutive failures that declare the server offline."""
    breaker_cooldown: float = 10.0
    """Seconds the breaker stays open before one trial call is let through."""


def new_idempotency_key() -> str:
    """A fresh idempotency key (UUID4 text)."""
    return str(uuid.uuid4())


class ProcessingClient:
    """Typed operations of the processing protocol over one pooled httpx client."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        settings: ClientSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or ClientSettings()
        s = self.settings
        self.breaker = breaker or CircuitBreaker(s.breaker_threshold, s.breaker_cooldown)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + wire.API_PREFIX,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(
                s.read_timeout, connect=s.connect_timeout, pool=s.connect_timeout
            ),
            transport=transport,
            follow_redirects=False,
        )
        self._probe_stop = threading.Event()
        self._probe_thread: threading.Thread | None = None
        self._listeners: list[OutcomeListener] = []
        self._answered = True
        """The last outcome; while False the prober checks the server even with the breaker
        closed (one failed call does not open it)."""

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop the background prober and close the connection pool."""
        self.stop_probing()
        self._http.close()

    def __enter__(self) -> ProcessingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ operations

    def health(self) -> wire.Health:
        """The server's health; raises as every operation does."""
        return self._call("GET", "/health", wire.Health)

    def identify(
        self,
        value: str,
        *,
        kind: wire.IdentifierKind = "auto",
        entry: wire.EntryMode = "typed",
        region: str = "RU",
        expiring_within_days: int = 30,
    ) -> wire.IdentifyResult:
        """Find a member by phone, QR token or card number (``kind="auto"`` classifies)."""
        body = wire.IdentifyRequest(
            kind=kind,
            value=value,
            entry=entry,
            region=region,
            expiring_within_days=expiring_within_days,
        )
        return self._call("POST", "/identify", wire.IdentifyResult, body)

    def register(
        self,
        phone: str,
        *,
        consent: bool,
        name: str | None = None,
        birthday: date | None = None,
        email: str | None = None,
        region: str = "RU",
        idempotency_key: str | None = None,
    ) -> wire.CodeSent:
        """Start registration (or authorisation of a known phone): an SMS code is sent."""
        body = wire.RegisterRequest(
            phone=phone, region=region, consent=consent, name=name, birthday=birthday, email=email
        )
        return self._write("/register", wire.CodeSent, body, idempotency_key)

    def confirm_registration(
        self, code_id: str, code: str, *, idempotency_key: str | None = None
    ) -> wire.IdentifyResult:
        """Confirm with the code the customer received; answers the (new) member."""
        body = wire.ConfirmRegistrationRequest(code_id=code_id, code=code)
        return self._write("/register/confirm", wire.IdentifyResult, body, idempotency_key)

    def request_spend_code(
        self, member_id: str, points: Decimal, *, idempotency_key: str | None = None
    ) -> wire.CodeSent:
        """Send the member an SMS code that authorises spending ``points`` on one check."""
        body = wire.SpendCodeRequest(member_id=member_id, points=points)
        return self._write("/spend-code", wire.CodeSent, body, idempotency_key)

    def calculate(self, request: wire.CheckRequest) -> wire.Calculation:
        """The authoritative calculation of a check (no state changes)."""
        return self._call("POST", "/calculate", wire.Calculation, request)

    def hold(self, request: wire.HoldRequest, *, idempotency_key: str) -> wire.Hold:
        """Reserve the spend of a calculated check; ``stale_calculation`` if it changed."""
        return self._write(f"/checks/{request.check_id}/hold", wire.Hold, request, idempotency_key)

    def confirm(self, check_id: str, *, idempotency_key: str) -> wire.CheckResult:
        """Apply a held check's earn and spend; replays answer the same result."""
        return self._write(f"/checks/{check_id}/confirm", wire.CheckResult, None, idempotency_key)

    def cancel(self, check_id: str, *, idempotency_key: str) -> wire.CancelResult:
        """Release a hold (void, timeout, crash recovery)."""
        return self._write(f"/checks/{check_id}/cancel", wire.CancelResult, None, idempotency_key)

    def replay_offline(self, check: wire.OfflineCheck, *, idempotency_key: str) -> wire.CheckResult:
        """Apply one check made offline; a spend shortfall comes back as ``conflict``."""
        return self._write("/checks/offline", wire.CheckResult, check, idempotency_key)

    def replay_batch(self, items: Sequence[wire.ReplayItem]) -> list[wire.ItemResult]:
        """Apply offline checks in order, one result per item (each item has its own key).

        The batch itself is idempotent because every item is; the batch key is derived from
        the item keys so a retry of the same batch is recognised as such.
        """
        body = wire.ReplayBatchRequest(items=list(items))
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(i.idempotency_key for i in items)))
        answer = self._write("/checks/offline/batch", wire.ReplayBatchResult, body, key)
        if len(answer.results) != len(items):
            raise ProtocolError("The server answered a different number of batch results.")
        return answer.results

    def return_check(
        self, request: wire.ReturnRequest, *, idempotency_key: str
    ) -> wire.ReturnResult:
        """Return lines of a confirmed check: points taken back and given back pro rata."""
        return self._write("/returns", wire.ReturnResult, request, idempotency_key)

    def create_claim(self, request: wire.ClaimRequest, *, idempotency_key: str) -> wire.Claim:
        """Register a check made without a customer under its claim code."""
        return self._write("/claims", wire.Claim, request, idempotency_key)

    def redeem_claim(
        self, code: str, member_id: str, *, idempotency_key: str | None = None
    ) -> wire.ClaimRedeemed:
        """Credit the check behind ``code`` to ``member_id`` (once; a second time is refused)."""
        body = wire.RedeemClaimRequest(code=code, member_id=member_id)
        return self._write("/claims/redeem", wire.ClaimRedeemed, body, idempotency_key)

    def program_snapshot(self) -> wire.ProgramSnapshot:
        """The current program with its version and the QR public key."""
        return self._call("GET", "/program", wire.ProgramSnapshot)

    def members_delta(self, cursor: str = "", limit: int = 1000) -> wire.MembersDelta:
        """Members changed since ``cursor`` ("" for everything), for the offline cache."""
        return self._call(
            "GET", "/members/delta", wire.MembersDelta, params={"cursor": cursor, "limit": limit}
        )

    def catalog_delta(self, cursor: str = "", limit: int = 1000) -> wire.CatalogDelta:
        """Products changed since ``cursor`` ("" for everything), for the offline cache."""
        return self._call(
            "GET", "/catalog/delta", wire.CatalogDelta, params={"cursor": cursor, "limit": limit}
        )

    # ------------------------------------------------------------ outcomes

    def on_outcome(self, listener: OutcomeListener) -> None:
        """Tell ``listener`` the outcome of every call and probe from now on."""
        self._listeners.append(listener)

    def gave_up_waiting(self) -> None:
        """A caller stopped waiting for an answer (its own budget ran out): report the server
        unreachable now, not when the transport times out, so the next caller need not wait."""
        self._report(False)

    def _report(self, answered: bool) -> None:
        self._answered = answered
        for listener in self._listeners:
            try:
                listener(answered)
            except Exception:  # a listener's bug must not turn into a network failure
                log.exception("connection listener failed")

    # ------------------------------------------------------------ breaker probing

    def probe(self) -> bool:
        """One health call that bypasses the breaker; closes it on success."""
        try:
            response = self._http.get("/health")
        except httpx.HTTPError:
            self._report(False)
            return False
        if response.status_code == 200:
            self.breaker.record_success()
            self._report(True)
            return True
        self._report(False)
        return False

    def start_probing(self, interval: float = 5.0) -> None:
        """Probe in a daemon thread every ``interval`` seconds while the server is not known to
        answer (the breaker is not closed, or the last call failed)."""
        if self._probe_thread is not None:
            return
        self._probe_stop.clear()

        def run() -> None:
            while not self._probe_stop.wait(interval):
                if not self._answered or self.breaker.state is not BreakerState.CLOSED:
                    self.probe()

        self._probe_thread = threading.Thread(target=run, name="processing-probe", daemon=True)
        self._probe_thread.start()

    def stop_probing(self) -> None:
        """Stop the background prober (joins it, bounded)."""
        self._probe_stop.set()
        if self._probe_thread is not None:
            self._probe_thread.join(timeout=2.0)
            self._probe_thread = None

    # ------------------------------------------------------------ transport

    def _write(
        self, path: str, model: type[T], body: BaseModel | None, idempotency_key: str | None
    ) -> T:
        # The key is fixed before the first attempt so every retry carries the same one.
        key = idempotency_key or new_idempotency_key()
        return self._call("POST", path, model, body, headers={wire.IDEMPOTENCY_HEADER: key})

    def _call(
        self,
        method: str,
        path: str,
        model: type[T],
        body: BaseModel | None = None,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> T:
        content = body.model_dump_json().encode() if body is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers["Content-Type"] = "application/json"
        s = self.settings
        deadline = time.monotonic() + s.retry_budget
        attempt = 0
        while True:
            attempt += 1
            if not self.breaker.allow():
                self._report(False)
                raise Offline("The processing server is offline; working from the local cache.")
            try:
                response = self._http.request(
                    method, path, content=content, headers=send_headers, params=params
                )
            except httpx.TimeoutException as exc:
                failure: Exception = Offline("The processing server did not answer in time.")
                cause: Exception = exc
            except httpx.TransportError as exc:
                failure = Offline("The processing server cannot be reached.")
                cause = exc
            else:
                if response.status_code not in _RETRY_STATUSES:
                    return self._answer(response, model)
                failure = ServerError(
                    f"The processing server is unavailable (HTTP {response.status_code}).",
                    response.status_code,
                )
                cause = failure
            self.breaker.record_failure()
            delay = s.backoff * (2 ** (attempt - 1))
            if attempt >= s.attempts or time.monotonic() + delay >= deadline:
                self._report(False)
                raise failure from cause
            self._sleep(delay)

    def _answer(self, response: httpx.Response, model: type[T]) -> T:
        status = response.status_code
        if status >= 500:
            self.breaker.record_failure()
            self._report(False)
            raise ServerError(f"The processing server failed (HTTP {status}).", status)
        # Any well-formed HTTP answer below 500 proves the server is alive.
        self.breaker.record_success()
        self._report(True)
        if status in (401, 403):
            raise Unauthorized("The processing server refused this till's API key.")
        if len(response.content) > _MAX_ANSWER_BYTES:
            raise ProtocolError("The processing server's answer is too large.")
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise ProtocolError("The processing server's answer is not valid JSON.") from exc
        if status >= 400:
            try:
                error = wire.ErrorBody.model_validate(data)
            except ValidationError as exc:
                raise ProtocolError(
                    f"The processing server refused the request (HTTP {status}) without a reason."
                ) from exc
            raise Rejected(error.code, error.message, dict(error.details), status)
        if status != 200:
            raise ProtocolError(f"The processing server answered an unexpected HTTP {status}.")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ProtocolError(
                f"The processing server's answer does not match the protocol ({model.__name__})."
            ) from exc
