"""One socket write per answer: the status line and headers go out together with the body.

uvicorn's httptools protocol writes an answer's head when the app sends
``http.response.start`` and its body when the app sends ``http.response.body``: two
``send()`` calls for every answer. On loopback and on a LAN each ``send()`` runs the whole TCP
path in the kernel, and under ``server_throughput`` those writes were the largest single item
of the server's CPU (about a sixth of its samples). :class:`CoalescingTransport` holds a head
back until the body's first write and sends both as one buffer.

A head is held only until the body is written, the transport is closed, or the event loop
next gets round to its callbacks (an answer whose body is produced later, such as a stream,
or never, such as an app that fails after its head): nothing is held for longer than the
step of the event loop that wrote it.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """Wraps a connection's transport; everything but ``write`` and ``close`` passes through."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + bytes(data))
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n":
            # A head alone (uvicorn writes heads as one buffer ending with the blank line).
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
