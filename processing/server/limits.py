"""How much one request may ask of the server, and what it is told when it asks too much.

A till key can leak and a till's network can misbehave, so nothing a client sends may cost the
server unbounded memory, time or write-lock time:

- **Body**: at most :data:`MAX_BODY_BYTES`; more is ``413 request_too_large`` before the body
  is read (a declared ``Content-Length``) or as soon as it passes the limit (chunked).
  :class:`BodyLimit` wraps the whole app, the hand-written fast routes included.
- **Headers**: at most :data:`MAX_HEADER_BYTES` for the request line and headers together;
  more is ``431 headers_too_large`` and the connection is closed.
- **Time to send a request**: from its first byte, the whole request (headers and body) must
  arrive within :data:`REQUEST_READ_TIMEOUT` seconds, else ``408 request_timeout`` (while the
  headers are still coming) or the connection is closed; an idle keep-alive connection is closed
  after :data:`KEEP_ALIVE_SECONDS`. Both enforced by :class:`BoundedHttpTools`, uvicorn's
  httptools protocol with these checks added (uvicorn itself has no header size or read
  timeout with httptools); the h11 fallback gets uvicorn's ``h11_max_incomplete_event_size``.
- **Counts**: a check has at most :data:`MAX_LINES` lines, a replay batch at most
  :data:`MAX_BATCH` items (in the wire models, so the OpenAPI schema says the same; 422).
- **Write-lock time**: a replay batch is applied in slices of at most
  :data:`BATCH_ITEMS_PER_WRITE` items and :data:`BATCH_LINES_PER_WRITE` lines, one write
  transaction each, so no batch holds the write lock for longer than that many checks take;
  single writes are one check each (group commit bundles at most 64 of them).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from processing import wire
from processing.errors import ErrorCode
from processing.server.coalesce import CoalescingTransport

MAX_BODY_BYTES = 4 * 1024 * 1024
"""A request body's limit: a batch of 100 offline checks of ~250 lines each fits."""
MAX_IMPORT_BYTES = 64 * 1024 * 1024
"""The body limit of the operator API's members import (``/v1/operator/members/import``)."""
IMPORT_PATH = f"{wire.API_PREFIX}/operator/members/import"
MAX_HEADER_BYTES = 16 * 1024
"""The request line and headers together (a till sends well under 1 KiB)."""
REQUEST_READ_TIMEOUT = 60.0
"""Seconds from a request's first byte to its last (a 4 MiB batch on a slow link fits)."""
KEEP_ALIVE_SECONDS = 30
"""An idle keep-alive connection is closed after this long."""
MAX_LINES = wire.MAX_LINES
MAX_BATCH = wire.MAX_BATCH
BATCH_ITEMS_PER_WRITE = 25
"""Offline checks applied in one write transaction of a batch, at most."""
BATCH_LINES_PER_WRITE = 2500
"""Check lines applied in one write transaction of a batch, at most (one check may exceed
the share left of it: a slice always holds at least one check)."""

log = logging.getLogger("processing.server")


def _error(code: ErrorCode, message: str, details: dict[str, Any]) -> bytes:
    return json.dumps({"code": str(code), "message": message, "details": details}).encode()


def batch_slices(items: list[wire.ReplayItem]) -> list[list[wire.ReplayItem]]:
    """``items`` in order, cut into slices of at most :data:`BATCH_ITEMS_PER_WRITE` items and
    :data:`BATCH_LINES_PER_WRITE` lines (one write transaction each)."""
    slices: list[list[wire.ReplayItem]] = []
    current: list[wire.ReplayItem] = []
    lines = 0
    for item in items:
        count = len(item.check.lines)
        if current and (
            len(current) >= BATCH_ITEMS_PER_WRITE or lines + count > BATCH_LINES_PER_WRITE
        ):
            slices.append(current)
            current, lines = [], 0
        current.append(item)
        lines += count
    if current:
        slices.append(current)
    return slices


class BodyLimit:
    """ASGI middleware: refuse a request body above :data:`MAX_BODY_BYTES` with 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The operator's members import carries a whole file (200 000 members: about 15 MB).
        limit = MAX_IMPORT_BYTES if scope["path"] == IMPORT_PATH else MAX_BODY_BYTES
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None:
            # The protocol never hands on more than the declared length, so checking it is
            # enough (an invalid one was refused by the parser already).
            if int(declared) > limit:
                await _too_large(send, limit)
                return
            await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        # Chunked: read it here, bounded (every route reads the whole body anyway), and hand
        # it on as one message.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = _error(
        ErrorCode.REQUEST_TOO_LARGE,
        "The request is too large.",
        {"limit_bytes": limit},
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _raw_answer(status: int, reason: str, body: bytes) -> bytes:
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class _HeadersTooLarge(Exception):
    """Raised from a parser callback: the parser stops and the protocol answers 431."""


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size limit and a request read timeout.

    Header size is counted twice: exactly, from the parser's callbacks (headers that arrive in
    one piece with the rest of the request), and as the bytes received while the headers are
    still incomplete (one endless header line, which the parser would buffer whole)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # until the headers of the current request are complete
        self._in_request = False  # from a request's first byte to its last
        self._head_bytes = 0  # received while the headers are incomplete
        self._head_size = 0  # the request line and headers parsed so far
        self._head_refused = False
        self._read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Every later use of the transport (the request cycles included) writes an answer's
        # head and body in one send (processing.server.coalesce).
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self._in_request:
            self._in_request = True
            self._read_timer = self.loop.call_later(REQUEST_READ_TIMEOUT, self._too_slow)
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > MAX_HEADER_BYTES:
            self._refuse_headers()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url) + 16)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEADER_BYTES:
            self._head_refused = True
            raise _HeadersTooLarge

    def send_400_response(self, msg: str) -> None:
        if self._head_refused:  # the parser stopped because a callback of ours said so
            self._refuse_headers()
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._head_size = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._in_request = False
        self._stop_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def _stop_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _refuse_headers(self) -> None:
        body = _error(
            ErrorCode.HEADERS_TOO_LARGE,
            "The request's headers are too large.",
            {"limit_bytes": MAX_HEADER_BYTES},
        )
        self._hang_up(_raw_answer(431, "Request Header Fields Too Large", body))

    def _too_slow(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        log.info("closing a connection whose request took over %ss to arrive", REQUEST_READ_TIMEOUT)
        if self._in_head:
            body = _error(ErrorCode.REQUEST_TIMEOUT, "The request took too long to arrive.", {})
            self._hang_up(_raw_answer(408, "Request Timeout", body))
        else:  # the app is reading the body: it sees the client go away
            self.transport.close()

    def _hang_up(self, answer: bytes) -> None:
        if self.transport.is_closing():
            return
        self._stop_timer()
        self.transport.write(answer)
        self.transport.close()
