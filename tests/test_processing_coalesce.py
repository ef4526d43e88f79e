"""The server writes an answer's head and body in one send (processing.server.coalesce).

The transport under the wrapper is a recorder on a real event loop: what is asserted is the
sequence of writes the socket would get, which a socket on loopback cannot show (the kernel
may merge two sends on the way)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from processing.server.coalesce import CoalescingTransport
from processing.server.testing import RunningServer

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"


class _Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def write(self, data: bytes) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.events.append("close")

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _run(steps: Any) -> list[Any]:
    async def main() -> list[Any]:
        recorder = _Recorder()
        transport = CoalescingTransport(recorder, asyncio.get_running_loop())  # type: ignore[arg-type]
        await steps(transport)
        return recorder.events

    return asyncio.run(main())


def test_a_head_and_its_body_go_out_as_one_write() -> None:
    async def steps(t: CoalescingTransport) -> None:
        t.write(HEAD)
        t.write(b"{}")
        await asyncio.sleep(0)

    assert _run(steps) == [HEAD + b"{}"]


def test_a_head_without_a_body_yet_goes_out_on_the_next_loop_step() -> None:
    async def steps(t: CoalescingTransport) -> None:
        t.write(HEAD)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        t.write(b"{}")  # a streamed body, produced later

    assert _run(steps) == [HEAD, b"{}"]


def test_closing_sends_a_held_head_first() -> None:
    async def steps(t: CoalescingTransport) -> None:
        t.write(HEAD)
        t.close()

    assert _run(steps) == [HEAD, "close"]


def test_anything_else_is_written_at_once_and_other_calls_pass_through() -> None:
    async def steps(t: CoalescingTransport) -> None:
        t.write(b"partial body")
        t.write(b"HTTP/1.1 431 Too Large\r\ncontent-length: 2\r\n\r\n{}")  # a whole answer
        assert t.get_extra_info("peername") == "info:peername"

    assert _run(steps) == [
        b"partial body",
        b"HTTP/1.1 431 Too Large\r\ncontent-length: 2\r\n\r\n{}",
    ]


def test_the_server_answers_whole_through_it(server: RunningServer) -> None:
    """Keep-alive requests in a row on one connection each get their whole answer."""
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            answer = client.get("/v1/health")
            assert answer.status_code == 200
            assert answer.json()["status"] in {"ok", "degraded"}
