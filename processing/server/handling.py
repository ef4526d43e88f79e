"""Request plumbing shared by the routes: the caller's till, idempotent write transactions.

Handlers are ``async def``; reads call SQLite inline (a millisecond or less). Writes go to the
storage's committer thread (:func:`write`), so the event loop keeps serving while a COMMIT
waits for its fsync, and writes arriving together share one transaction and one fsync (group
commit), each in its own SAVEPOINT; an answer is sent only after its COMMIT. BEGIN IMMEDIATE
still guards against writers in other processes.

:func:`idempotent_write` runs a handler inside that transaction together with the
idempotency record of its answer, so effects and answer are stored atomically and a replay
with the same key returns the very same bytes. On PostgreSQL the key is claimed first
(:mod:`processing.server.idempotency`), so two nodes never both run the handler for one key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from processing import wire
from processing.errors import ErrorCode
from processing.server import idempotency
from processing.server.auth import TillIdentity
from processing.server.context import NoProgram, ServerContext
from processing.server.engine import Database
from processing.server.problems import ApiError

JSON = "application/json"
CRASH_BODY = json.dumps(
    {"code": "internal", "message": "The server failed; try again.", "details": {}}
).encode()
"""The answer to a request the server failed on (500): nothing of the failure is told."""
T = TypeVar("T")

# Declared for the OpenAPI document (bearer auth); the check itself is done by the auth
# middleware before the body is even read, so an unauthorised caller learns nothing.
bearer_scheme = HTTPBearer(auto_error=False, description="The till's API key.")


async def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


async def till(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> TillIdentity:
    identity: TillIdentity = request.state.till
    return identity


Ctx = Annotated[ServerContext, Depends(context)]
Till = Annotated[TillIdentity, Depends(till)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias=wire.IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="A client-generated id (UUID) of this write; resend it on every retry.",
    ),
]


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type=JSON)


def error_response(error: ApiError) -> Response:
    return Response(json.dumps(error.body()), status_code=error.status, media_type=JSON)


def no_program_response(exc: NoProgram) -> Response:
    body = {"code": "internal", "message": str(exc), "details": {}}
    return Response(json.dumps(body), status_code=503, media_type=JSON)


async def write(ctx: ServerContext, fn: Callable[[Database], T], *, long: bool = False) -> T:
    """Run ``fn(db)`` in a write transaction, shared with the writes queued at the same moment
    (group commit: one fsync for them all); returns once it is durable.

    Short writes run on the event loop's thread (:meth:`Storage.run`: no GIL hand-offs while
    the write lock is held); ``long`` ones (a replay batch) on the committer thread, so they
    do not stop the loop serving reads meanwhile.
    """
    if long:
        return await asyncio.wrap_future(ctx.storage.submit(fn))
    return await ctx.storage.run(fn)


async def idempotent_write(
    ctx: ServerContext,
    request: Request,
    caller: TillIdentity,
    key: str,
    body: BaseModel | None,
    handler: Callable[[Database, int], BaseModel | str],
    *,
    now: int | None = None,
    refusal_is_final: bool = True,
    not_yet: frozenset[ErrorCode] = frozenset(),
    raw: bytes | None = None,
) -> Response:
    """Run ``handler(db, now)`` once per (till, key); replays get the first answer back. The
    handler answers a model, or its JSON text when it wrote it out itself.

    An ApiError from the handler is an answer too (stored and replayed); its effects are rolled
    back unless it says ``keep_effects``. A 429 that kept no effects (a send limit) is not
    stored, so the key can be used again once the wait is over. Raises
    ApiError(idempotency_conflict) when the key was used for another route or body. ``now``:
    the time the handler runs at (default: the clock inside the transaction), for work
    prepared before it at that time. ``refusal_is_final`` False: a refusal answers only the
    same body again; the same key with a corrected body is handled afresh
    (:func:`idempotency.lookup`). ``not_yet``: refusals that changed nothing and only say
    "not yet" (a return whose check has not reached the server): not stored either, so the
    same request under the same key is judged afresh later. ``raw``: the request's bytes as
    sent; the key's digest is then taken from them (a retry repeats its request byte for byte,
    as the till's client does), not from ``body`` serialised again, which costs a whole dump
    of the request; an answer stored under a digest of ``body`` (by a server before this one)
    is still found.
    """
    # The path as sent: request.url.path is the same text for every path these routes accept
    # (ids match [A-Za-z0-9_.:-]) but builds a whole URL (host header, urlsplit) to get it.
    route: str = request.scope["path"]

    def parsed_digest() -> str:
        return idempotency.body_hash(
            route, b"" if body is None else body.model_dump_json().encode()
        )

    digest = parsed_digest() if raw is None else idempotency.body_hash(route, raw)

    def apply(db: Database) -> idempotency.StoredAnswer:
        try:
            stored = idempotency.lookup(
                db, caller.pk, key, route, digest, refusal_is_final=refusal_is_final
            )
        except ApiError as error:
            if raw is None or error.code != ErrorCode.IDEMPOTENCY_CONFLICT:
                raise
            # Stored by a server that digested the parsed body: the same request matches it.
            stored = idempotency.lookup(
                db, caller.pk, key, route, parsed_digest(), refusal_is_final=refusal_is_final
            )
        if stored is not None:
            return stored
        at = ctx.now() if now is None else now
        db.conn.execute("SAVEPOINT handler")
        try:
            answer = handler(db, at)
        except ApiError as error:
            if not error.keep_effects:
                db.conn.execute("ROLLBACK TO SAVEPOINT handler")
            db.conn.execute("RELEASE SAVEPOINT handler")
            result = idempotency.StoredAnswer(error.status, json.dumps(error.body()))
            if (error.status == 429 or error.code in not_yet) and not error.keep_effects:
                # "Try again later" that changed nothing is not this key's answer for ever:
                # the same request under the same key is judged afresh when it comes back.
                idempotency.release(db, caller.pk, key)
                return result
        else:
            # The savepoint is left open: the COMMIT (or, in a group on SQLite, the job's
            # RELEASE) ends it with the rest of the transaction. On PostgreSQL a RELEASE is
            # one more round trip a write, about 150 µs of CPU between client and server;
            # one open savepoint a transaction costs nothing there (a batch's items, many to
            # a transaction, still release theirs).
            text = answer if isinstance(answer, str) else answer.model_dump_json()
            result = idempotency.StoredAnswer(200, text)
        idempotency.store(db, caller.pk, key, route, digest, result, at)
        return result

    result = await write(ctx, apply)
    return Response(result.body, status_code=result.status, media_type=JSON)
