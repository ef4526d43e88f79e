"""``identify_rtt``: identify by phone through the till's client against the real server in
its own process, with a bare ASGI app on the same uvicorn setup as the floor (see
:func:`identify_rtt`). ``server_throughput`` lives in ``bench_throughput``.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.result import (
    ROOT,
    Result,
    interleaved,
    median,
    p50_p99,
    percentile,
    ratio_result,
    scratch,
)
from processing.client import ProcessingClient
from processing.server import auth, seed
from processing.server.storage import Storage
from processing.server.testing import server_process

NO_READ_LIMIT = ("--till-read-rate", "0")
"""``serve`` with the per-till read limit off, for a benchmark whose one till reads flat out."""


def _seeded(path: Path, members: int) -> str:
    storage = Storage(path)
    now = int(time.time())
    with storage.write() as db:
        seed.seed_demo(db, now, generated=members)
        key = auth.add_till(db, "S1", "BENCH", now)
    storage.close()
    return key


@contextmanager
def bare_server(db_path: Path, answer: bytes) -> Iterator[str]:
    """``benchmarks.bare_asgi`` (a bare ASGI app on the product's uvicorn setup) answering
    ``answer`` to every request, in its own process; yields its base URL."""
    answer_file = Path(f"{db_path}.answer")
    answer_file.write_bytes(answer)
    port_file = Path(f"{db_path}.bare-port")
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bare_asgi",
            str(db_path),
            str(answer_file),
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bare ASGI floor server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(port_file.read_text())}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def identify_rtt() -> Result:
    """Identify by phone, as the till does it, against the same call to a bare ASGI app.

    Value: ``ProcessingClient.identify`` (the till's own client: httpx, pydantic validation of
    the answer) of a random one of 100 000 members, against ``till processing serve`` (one
    worker) in its own process on loopback. Floor: the same client making the same call to a
    bare ``async def app(scope, receive, send)`` served by the product's own uvicorn setup
    (``benchmarks.bare_asgi``: same flags, loop, parser, socket options) that answers the
    bytes the real server gave for a member. Same client, same request, same answer bytes:
    the difference is the product server's own work (FastAPI, auth, validation, the member
    and balance queries, serialisation). The two alternate call by call, 600 each. Measured
    here: 1.0 ms against 0.59 ms (ratio 1.7) on a calm moment, 2.2-3.8 ms against 0.7-1.4 ms
    (ratio 2.6-3.0) with others loading the box; p99 ratio 1.2-1.4 (the p99s are mostly the
    neighbours' time slices). Target: median ratio <= 3.5 and p99 ratio <= 3. On a calm box a
    doubled server part reads ~2.4 and passes: the bound is set for the loaded box, where a
    tighter one would fail on the neighbours; ``server_throughput``'s ``cpu_ms_per_check``
    is the figure that tracks the server's own cost.

    The server runs with the per-till read limit off (``--till-read-rate 0``): this is one till
    making identifies back to back, hundreds a second, which the default limit (50 a second
    after a burst of 100, :mod:`processing.server.readlimit`) exists to refuse; refused calls
    would time the 429, not the identify.
    """
    with scratch() as tmp:
        db_path = Path(tmp) / "bench.db"
        key = _seeded(db_path, 100_000)
        rng = random.Random(3)
        phones = [f"+7900{rng.randrange(1, 100_001):07d}" for _ in range(1300)]
        with server_process(db_path, extra_args=NO_READ_LIMIT) as url:
            with httpx.Client(base_url=url) as raw:
                answer = raw.post(
                    "/v1/identify",
                    json={"kind": "auto", "value": phones[0], "entry": "typed", "region": "RU"},
                    headers={"Authorization": f"Bearer {key}"},
                ).content
            with (
                bare_server(db_path, answer) as bare_url,
                ProcessingClient(url, key) as client,
                ProcessingClient(bare_url, key) as bare,
            ):
                it = iter(phones)
                value, floor = interleaved(
                    lambda: client.identify(next(it)),
                    lambda: bare.identify(phones[0]),
                    600,
                    warmup=20,
                )
    p99_ratio = percentile(value, 99) / percentile(floor, 99)
    return ratio_result(
        "identify_rtt",
        median(value) * 1000,
        median(floor) * 1000,
        "ms",
        "median <= 3.5 x and p99 <= 3 x the same client call to a bare ASGI app on the same"
        " uvicorn setup (100 000 members)",
        3.5,
        {
            **p50_p99(value),
            "floor_p50": round(median(floor) * 1000, 4),
            "floor_p99": round(percentile(floor, 99) * 1000, 4),
            "p99_ratio": round(p99_ratio, 3),
        },
        also={"p99 ratio": (p99_ratio, 3.0)},
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {
    "identify_rtt": identify_rtt,
}
