"""The reference processing server as an ASGI app: ``create_app(ctx)``.

Every answer that is not a success has one shape, ``{code, message, details}``: refusals
(:class:`ApiError`), validation failures (422 ``invalid_request``), unknown routes, and
unexpected failures (500 ``internal``, logged with the traceback, never shown to the caller).
Everything under ``/v1`` except ``/v1/health`` and the OpenAPI document needs a till's key;
without one the answer is a bare 401.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from processing import wire
from processing.errors import ErrorCode
from processing.server import routes_checks, routes_claims, routes_members
from processing.server.context import NoProgram, ServerContext
from processing.server.fastpath import FastRoutes
from processing.server.handling import CRASH_BODY, JSON, error_response, no_program_response
from processing.server.limits import BodyLimit
from processing.server.ops import api as operator_api
from processing.server.ops.operators import OperatorKeys
from processing.server.problems import ApiError
from processing.server.readlimit import is_read
from processing.server.storage import Storage

log = logging.getLogger("processing.server")

_UNAUTHORIZED = json.dumps(
    {"code": "unauthorized", "message": "Unauthorized.", "details": {}}
).encode()
_OPERATOR_PATHS = f"{wire.API_PREFIX}{operator_api.PREFIX}/"
_OPEN_PATHS = frozenset({f"{wire.API_PREFIX}/health", "/openapi.json", "/docs", "/ping"})


class TillAuth:
    """ASGI middleware: resolve the bearer key to a till before anything else runs."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx
        self.fast = FastRoutes(app, ctx)  # the sale's hot routes; the rest goes on to ``app``
        self.operators = OperatorKeys()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.ctx.in_flight += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            self.ctx.in_flight -= 1

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        key = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    key = text[7:].strip()
                break
        if scope["path"].startswith(_OPERATOR_PATHS):
            # The operator API takes only operator keys (a till's is refused here, and an
            # operator's key is refused on every till route below).
            operator = (
                await self.ctx.storage.reading(
                    lambda db: self.operators.identify(db, key), snapshot=False
                )
                if key
                else None
            )
            if operator is None:
                await _refuse(send)
                return
            scope.setdefault("state", {})["operator"] = operator
            await self.app(scope, receive, send)
            return
        identity = (
            await self.ctx.storage.reading(
                lambda db: self.ctx.keys.identify(db, key), snapshot=False
            )
            if key
            else None
        )
        if identity is None:
            await _refuse(send)
            return
        reads = self.ctx.reads
        read = is_read(scope["method"], scope["path"])
        if read and reads.on:
            # Before the body is read or the database touched: a refusal costs next to nothing.
            wait = reads.take(identity.pk, self.ctx.clock().timestamp())
            if wait:
                await _too_many(send, wait)
                return
        scope.setdefault("state", {})["till"] = identity
        if read:
            await self.fast(scope, receive, send, identity)
            return
        # A write waits for a place in its till's lane before its body is read.
        async with self.ctx.writes.lane(identity.pk):
            await self.fast(scope, receive, send, identity)


async def _refuse(send: Send) -> None:
    """The bare 401 of a missing, unknown or revoked key."""
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", JSON.encode()),
                (b"www-authenticate", b"Bearer"),
                (b"content-length", str(len(_UNAUTHORIZED)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _UNAUTHORIZED})


async def _too_many(send: Send, wait: int) -> None:
    """The 429 of a till over its read limit (:mod:`processing.server.readlimit`)."""
    error = ApiError(
        ErrorCode.TOO_MANY_REQUESTS,
        f"This till sent too many reads; try again in {wait} s.",
        {"retry_after_seconds": wait},
    )
    body = json.dumps(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", JSON.encode()),
                (b"retry-after", str(wait).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    # Only location, message and type: the raw input may be huge or hold personal data.
    errors = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()[:20]
    ]
    return {"errors": errors}


def create_app(ctx: ServerContext) -> FastAPI:
    """The FastAPI app serving the protocol from ``ctx``."""
    app = FastAPI(
        title="till processing",
        version="1",
        description="Loyalty processing protocol: see processing/PROTOCOL.md.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.include_router(routes_members.public, prefix=wire.API_PREFIX)
    app.include_router(routes_members.router, prefix=wire.API_PREFIX)
    app.include_router(routes_checks.router, prefix=wire.API_PREFIX)
    app.include_router(routes_claims.router, prefix=wire.API_PREFIX)
    app.include_router(operator_api.router, prefix=wire.API_PREFIX)

    @app.get("/ping", include_in_schema=False)
    async def ping() -> Response:
        """The cheapest answer this server can give (the floor of the latency benchmark)."""
        return Response(b"{}", media_type=JSON)

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(
            ApiError(
                ErrorCode.INVALID_REQUEST,
                "The request is not valid.",
                _validation_details(exc),
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            code, message = ErrorCode.METHOD_NOT_ALLOWED, "This method is not allowed here."
        elif exc.status_code == 404:
            code, message = ErrorCode.NOT_FOUND, "There is nothing at this address."
        else:
            code, message = ErrorCode.INVALID_REQUEST, "The request is not valid."
        body = {"code": str(code), "message": message, "details": {}}
        # A 405 keeps the router's Allow header (RFC 9110: the methods the address serves).
        return Response(
            json.dumps(body), status_code=exc.status_code, media_type=JSON, headers=exc.headers
        )

    @app.exception_handler(NoProgram)
    async def on_no_program(_request: Request, exc: NoProgram) -> Response:
        return no_program_response(exc)

    @app.exception_handler(Exception)
    async def on_crash(_request: Request, exc: Exception) -> Response:
        log.exception("request failed", exc_info=exc)
        return Response(CRASH_BODY, status_code=500, media_type=JSON)

    if isinstance(ctx.storage, Storage):
        # A COMMIT is made on the loop's own thread when no other request is in flight.
        ctx.storage.set_others_waiting(lambda group: ctx.in_flight > group)
    app.add_middleware(TillAuth, ctx=ctx)
    app.add_middleware(BodyLimit)  # outermost: before the key is even looked at
    return app
