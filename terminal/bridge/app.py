"""The bridge's HTTP routes (FastAPI): receipts under ``/v1/receipts/{receipt_id}``.

Routes are thin: they check the key, replay a call the register repeats (same ``X-Call-Id`` on
the same receipt → the same answer, byte for byte), and run the call in a worker thread so the
event loop never waits on the network or the disk. Refusals are ``{code, message}`` with a
4xx status; the message is one sentence in the till's screen language. The OpenAPI description
is served at ``/openapi.json``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.types import DecoratedCallable
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from terminal.bridge import models
from terminal.bridge.register import RegisterBridge
from terminal.bridge.state import Refusal
from terminal.i18n import _

log = logging.getLogger(__name__)

Body = TypeVar("Body", bound=BaseModel)

API_VERSION = "1"
PREFIX = "/v1"

ReceiptId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The register's own receipt id.",
    ),
]
RegisterId = Annotated[
    str,
    Header(
        alias=models.REGISTER_HEADER,
        min_length=1,
        max_length=64,
        description="Which register calls (a till serves one at a time).",
    ),
]
CallId = Annotated[
    str | None,
    Header(
        alias=models.CALL_ID_HEADER,
        max_length=128,
        description="Repeat it on a retry to get the first answer again.",
    ),
]

PASSING_REFUSALS = frozenset({"register_busy"})
"""Refusals that say nothing about the call itself: a retry may get a different answer."""

ANSWERS: dict[int | str, dict[str, object]] = {
    401: {"model": models.BridgeError, "description": "missing or wrong key"},
    404: {"model": models.BridgeError, "description": "unknown receipt"},
    409: {"model": models.BridgeError, "description": "refused (see code)"},
    422: {"model": models.BridgeError, "description": "invalid request"},
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        models.BridgeError(code=code, message=message).model_dump(), status_code=status
    )


def make_bridge_app(bridge: RegisterBridge, key: str | None) -> FastAPI:
    """The bridge's web app over ``bridge``; ``key``: the bearer key required (None: none)."""
    app = FastAPI(
        title="till bridge",
        version=API_VERSION,
        description="The cash register's loyalty API of one till. See BRIDGE.md.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )

    async def check_key(authorization: Annotated[str | None, Header()] = None) -> None:
        if not key:
            return
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), key.encode()):
            raise Refusal(401, "unauthorized", _("The bridge key is missing or wrong."))

    @app.exception_handler(Refusal)
    async def refused(request: Request, error: Refusal) -> JSONResponse:
        return _error(error.status, error.code, error.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        what = str(first.get("msg", "invalid request"))
        return _error(422, "invalid_request", f"{where}: {what}" if where else what)

    async def answer(
        receipt_id: str,
        call_id: str | None,
        request: Callable[[], str],
        call: Callable[[], models.Answer],
    ) -> Response:
        """Run ``call`` in a worker thread, or replay its first answer; ``request`` describes
        the call for the replay check (only worked out when there is a call id)."""

        def run() -> tuple[int, bytes]:
            with bridge.lock:
                fingerprint = request() if call_id else ""
                if call_id:
                    seen = bridge.replayed(receipt_id, call_id, fingerprint)
                    if seen is not None:
                        return seen
                try:
                    status, body = 200, call().model_dump_json().encode()
                except Refusal as refusal:
                    if refusal.code in PASSING_REFUSALS or not call_id:
                        raise
                    # Kept like a success: a register that lost this answer and retries must
                    # not find the call done differently (a finish refused for its discount
                    # must stay refused, not go through without it).
                    error = models.BridgeError(code=refusal.code, message=refusal.message)
                    status, body = refusal.status, error.model_dump_json().encode()
                if call_id:
                    bridge.remember(receipt_id, call_id, fingerprint, status, body)
                return status, body

        try:
            status, body = await run_in_threadpool(run)
        except Refusal:
            raise
        except Exception:
            log.exception("bridge call on %s failed", receipt_id)
            return _error(500, "internal", _("The till could not do this; try again."))
        return Response(body, status_code=status, media_type="application/json")

    guarded = [Depends(check_key)]

    def receipt_route(
        route: Callable[..., Callable[[DecoratedCallable], DecoratedCallable]], suffix: str = ""
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """``route`` (``app.put``, ``app.post`` …) on ``/v1/receipts/{receipt_id}`` +
        ``suffix``, answering a check state or a refusal, behind the key."""
        return route(
            f"{PREFIX}/receipts/{{receipt_id}}{suffix}",
            response_model=models.CheckState,
            responses=ANSWERS,
            dependencies=guarded,
        )

    async def register_call(
        what: str,
        do: Callable[[str, str, Body], models.Answer],
        receipt_id: str,
        register: str,
        call_id: str | None,
        body: Body,
    ) -> Response:
        """``do(register, receipt_id, body)``, idempotent by ``X-Call-Id``: a repeated id
        replays the first answer when the call (``what``), register and body are the same."""
        return await answer(
            receipt_id,
            call_id,
            lambda: f"{what} {register} {body.model_dump_json()}",
            lambda: do(register, receipt_id, body),
        )

    @app.get(f"{PREFIX}/health", response_model=models.Health, dependencies=guarded)
    def health() -> models.Health:
        """Whether the bridge is up and whether the till reaches its server."""
        services = bridge.services
        return models.Health(
            till_id=services.settings.till.till_id, online=services.connection.online
        )

    @receipt_route(app.put, "/cart")
    async def put_cart(
        receipt_id: ReceiptId, cart: models.Cart, register: RegisterId, call_id: CallId = None
    ) -> Response:
        """Put (or replace) the register's cart; identifies by ``identifier``, calculates."""
        return await register_call("cart", bridge.put_cart, receipt_id, register, call_id, cart)

    @receipt_route(app.get)
    async def get_state(receipt_id: ReceiptId) -> Response:
        """The loyalty state of the receipt: member, calculation, per-line discounts."""
        return await answer(receipt_id, None, str, lambda: bridge.state(receipt_id))

    @receipt_route(app.post, "/spend")
    async def spend(
        receipt_id: ReceiptId,
        request: models.SpendRequest,
        register: RegisterId,
        call_id: CallId = None,
    ) -> Response:
        """Pay with points (``amount`` or ``max``); the discounts are recalculated."""
        return await register_call("spend", bridge.spend, receipt_id, register, call_id, request)

    @receipt_route(app.post, "/finish")
    async def finish(
        receipt_id: ReceiptId,
        request: models.FinishRequest,
        register: RegisterId,
        call_id: CallId = None,
    ) -> Response:
        """The fiscal receipt is printed: confirm, and get the bonus lines to print."""
        return await register_call("finish", bridge.finish, receipt_id, register, call_id, request)

    @receipt_route(app.post, "/cancel")
    async def cancel(
        receipt_id: ReceiptId, register: RegisterId, call_id: CallId = None
    ) -> Response:
        """The receipt was dropped before fiscalisation: nothing is spent or earned."""
        fingerprint = f"cancel {register}"
        return await answer(
            receipt_id, call_id, lambda: fingerprint, lambda: bridge.cancel(register, receipt_id)
        )

    @receipt_route(app.post, "/refund")
    async def refund(
        receipt_id: ReceiptId,
        request: models.RefundRequest,
        register: RegisterId,
        call_id: CallId = None,
    ) -> Response:
        """A refund receipt (``receipt_id``) of lines of an earlier finished receipt."""
        return await register_call("refund", bridge.refund, receipt_id, register, call_id, request)

    return app
