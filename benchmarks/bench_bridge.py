"""The cash register's bridge: ``bridge_calculate``.

A 30-line cart put through the bridge (``PUT /v1/receipts/{id}/cart``) and calculated online
by the real server (its own process, ``serve`` on loopback), as a register's plugin does it:
one keep-alive connection, a member identified once, then the cart changed and put again, so
every put is a real recalculation. Floor, measured in the same run: one bare keep-alive POST on
loopback (a minimal ASGI app under uvicorn in a thread, as the bridge runs) plus the server's
own calculate of the same cart through the till's client. Target median ratio <= 2: the bridge
costs at most as much again as the HTTP hop and the calculation it cannot avoid.

The server runs with the per-till read limit off (``--till-read-rate 0``): the bridge's till
and the floor's client calculate back to back with one key, far above the default 50 reads a
second (:mod:`processing.server.readlimit`), and a refused put would time the 429.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from benchmarks.bench_processing import NO_READ_LIMIT
from benchmarks.result import Result, median, p50_p99, percentile, ratio_result, timings
from processing import wire
from processing.server import auth, seed
from processing.server.storage import Storage
from processing.server.testing import server_process
from terminal.bridge.runner import start_bridge
from terminal.bridge.simulator import generated_lines
from terminal.composition import build_services
from terminal.config import Settings

PHONE = "+79161234567"
"""A seeded demo member."""
REPEAT = 300
WARMUP = 20


def _seeded(path: Path) -> str:
    storage = Storage(path)
    now = int(time.time())
    with storage.write() as db:
        seed.seed_demo(db, now)
        key = auth.add_till(db, "S1", "BRIDGE", now)
    storage.close()
    return key


async def _bare_app(scope: dict[str, Any], receive: Callable[..., Any], send: Any) -> None:
    """The least an HTTP POST can cost under uvicorn: read the body, answer ``{}``."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"json")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


@contextmanager
def _bare_server() -> Iterator[str]:
    import uvicorn

    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(_bare_app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def bridge_calculate() -> Result:
    lines = generated_lines(30)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "processing.db"
        key = _seeded(db_path)
        with server_process(db_path, extra_args=NO_READ_LIMIT) as url:
            settings = Settings(
                till={"store_id": "S1", "till_id": "BRIDGE", "language": "en"},
                processing={"url": url, "api_key": key},
                offline={"db_path": str(Path(tmp) / "till.sqlite3")},
                bridge={"enabled": True, "port": 0},
            )
            services = build_services(settings)
            bridge = start_bridge(services)
            try:
                value, floor_post, floor_calc = _interleaved(bridge.url, services.client, lines)
            finally:
                bridge.stop()
                services.close()
    floor = [a + b for a, b in zip(floor_post, floor_calc, strict=False)]
    return ratio_result(
        "bridge_calculate",
        median(value) * 1000,
        (median(floor_post) + median(floor_calc)) * 1000,
        "ms",
        "median 30-line cart put and calculated through the bridge <= 2 x a bare keep-alive"
        " POST on loopback + the server's calculate",
        2.0,
        {
            **p50_p99(value),
            "floor_post_ms": median(floor_post) * 1000,
            "floor_calculate_ms": median(floor_calc) * 1000,
            "floor_p99_ms": percentile(floor, 99) * 1000,
        },
    )


def _changing(lines: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The cart with its first line's quantity stepping 1, 2, 3, …: a new cart every time."""
    n = 0
    while True:
        n += 1
        first = dict(lines[0], quantity=str(n % 50 + 1))
        first["amount"] = str((Decimal(first["price"]) * (n % 50 + 1)).quantize(Decimal("0.01")))
        yield [first, *lines[1:]]


def _interleaved(
    url: str, till_client: Any, lines: list[dict[str, Any]]
) -> tuple[list[float], list[float], list[float]]:
    """Bridge put, bare POST and server calculate, one of each per round, so a busy neighbour
    on the shared machine slows the figure and its floor alike."""
    member = till_client.identify(PHONE, region="RU").member.id
    bridge_carts, server_carts = _changing(lines), _changing(lines)
    with (
        _bare_server() as bare_url,
        httpx.Client(base_url=bare_url, timeout=30) as bare,
        httpx.Client(base_url=url, headers={"X-Register-Id": "POS-1"}, timeout=30) as register,
    ):
        first = register.put(
            "/v1/receipts/B-1/cart", json={"lines": lines, "identifier": {"value": PHONE}}
        )
        first.raise_for_status()
        calculation = first.json()["calculation"]
        if calculation is None or not calculation["online"]:
            raise RuntimeError(f"the bridge did not calculate online: {first.text}")

        def put() -> None:
            answer = register.put("/v1/receipts/B-1/cart", json={"lines": next(bridge_carts)})
            answer.raise_for_status()

        def post() -> None:
            bare.post("/", json={"lines": lines}).raise_for_status()

        def calculate() -> None:
            till_client.calculate(
                wire.CheckRequest(
                    check_id="bench-floor",
                    member_id=member,
                    lines=[
                        wire.Line(
                            name=line["name"],
                            price=Decimal(line["price"]),
                            quantity=Decimal(line["quantity"]),
                            amount=Decimal(line["amount"]),
                        )
                        for line in next(server_carts)
                    ],
                )
            )

        rounds = [timings(step, repeat=1, warmup=WARMUP) for step in (put, post, calculate)]
        for _ in range(REPEAT - 1):
            for samples, step in zip(rounds, (put, post, calculate), strict=True):
                samples += timings(step, repeat=1, warmup=0)
    return rounds[0], rounds[1], rounds[2]


BENCHMARKS: dict[str, Callable[[], Result]] = {"bridge_calculate": bridge_calculate}
