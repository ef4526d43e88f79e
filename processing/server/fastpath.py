"""The four hot routes of a sale (identify, calculate, hold, confirm) without FastAPI's
per-request machinery (route matching, dependency solving, exception middleware).

Only a request FastAPI would accept as it is takes this path: POST, ``application/json`` body
that the model accepts from its JSON text (``model_validate_json``, which accepts what
FastAPI's ``json.loads`` then ``validate_python`` accepts and nothing more: amounts are the
same strings either way, :mod:`processing.amounts`; a test compares the two on mangled
bodies), a valid path id and exactly one valid Idempotency-Key. It then calls the
very same endpoint function with the same arguments, so the answer is the same bytes. Anything
else — a malformed body, a missing header, another method — is handed to the full app with
the body replayed, so every error answer still comes from FastAPI and the app's handlers.

Why it is kept (measured, issue 14): the four requests of a sale driven through the app
in-process (no sockets; loop-thread CPU per sale, 100-sale batches alternating with and
without this path, 5 of each, median; 10-30 lines, 100 000 members; this 2-core box at load
average 5), two runs: 5.7 ms with it against 6.6 ms without, and 4.6 ms against 5.9 ms —
FastAPI's route matching, dependency solving and body handling cost about 1 ms of every sale,
15-20 %.
Over the network (``server_throughput``'s CPU per check) the same difference drowns in the
box's noise (7.1-7.3 ms with, 7.1-8.7 ms without). Without the gain measured again in this
way, remove it: it is a second door to four routes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from processing import wire
from processing.server import routes_checks, routes_members
from processing.server.auth import TillIdentity
from processing.server.context import NoProgram, ServerContext
from processing.server.handling import error_response, no_program_response
from processing.server.problems import ApiError

_IDENTIFY = f"{wire.API_PREFIX}/identify"
_CALCULATE = f"{wire.API_PREFIX}/calculate"
_CHECK_WRITE = re.compile(
    rf"{re.escape(wire.API_PREFIX)}/checks/([A-Za-z0-9_.:-]{{1,64}})/(hold|confirm)"
)
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_KEY_HEADER = wire.IDEMPOTENCY_HEADER.lower().encode()


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client went away."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def is_hot(path: str) -> bool:
    """Whether ``path`` is one of the hot routes' addresses (whatever the request's fate)."""
    return path in (_IDENTIFY, _CALCULATE) or _CHECK_WRITE.fullmatch(path) is not None


def _validated(model: type[BaseModel], body: bytes) -> Any:
    """The body as FastAPI would hand it to the endpoint, or None if it would refuse it."""
    if not body:
        return None
    try:
        return model.model_validate_json(body)
    except (ValueError, ValidationError):  # UnicodeDecodeError too
        return None


class FastRoutes:
    """Serves the hot routes directly; everything else goes to ``app``."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, caller: TillIdentity
    ) -> None:
        path: str = scope["path"]
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        check_id = ""
        if path in (_IDENTIFY, _CALCULATE):
            kind = path
        else:
            match = _CHECK_WRITE.fullmatch(path)
            if match is None:
                await self.app(scope, receive, send)
                return
            check_id, kind = match.group(1), match.group(2)
        content_type = b""
        keys: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == _KEY_HEADER:
                keys.append(value)
        key = ""
        if kind in ("hold", "confirm"):
            key = keys[0].decode("latin-1") if len(keys) == 1 else ""
            if _KEY.fullmatch(key) is None:
                await self.app(scope, receive, send)
                return
        if kind == "confirm":  # no body: FastAPI does not read one either
            request = Request(scope, receive)
            await self._answer(
                scope,
                receive,
                send,
                lambda: routes_checks.confirm(check_id, request, self.ctx, caller, key),
            )
            return
        body = await _read_body(receive)
        if body is None:
            return
        replay = _replaying(body, receive)
        endpoint: Callable[[], Awaitable[Response]] | None = None
        if content_type == b"application/json":
            if kind == _IDENTIFY:
                identify = _validated(wire.IdentifyRequest, body)
                if identify is not None:
                    endpoint = lambda: routes_members.identify(identify, self.ctx, caller)  # noqa: E731
            elif kind == _CALCULATE:
                check = _validated(wire.CheckRequest, body)
                if check is not None:
                    endpoint = lambda: routes_checks.calculate(check, self.ctx, caller)  # noqa: E731
            else:
                hold = _validated(wire.HoldBody, body)
                if hold is not None:
                    request = Request(scope, replay)
                    endpoint = lambda: routes_checks.hold(  # noqa: E731
                        check_id, hold, request, self.ctx, caller, key
                    )
        if endpoint is None:
            await self.app(scope, replay, send)
            return
        await self._answer(scope, replay, send, endpoint)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        endpoint: Callable[[], Awaitable[Response]],
    ) -> None:
        # The app's own handlers for these (app.create_app); any other exception goes up to
        # Starlette's ServerErrorMiddleware and the app's 500 handler, as from a route.
        try:
            response = await endpoint()
        except ApiError as error:
            response = error_response(error)
        except NoProgram as exc:
            response = no_program_response(exc)
        await response(scope, receive, send)
