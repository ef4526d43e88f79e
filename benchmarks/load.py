"""The open-loop load of whole sales the server benchmarks offer (``server_throughput``,
``server_throughput_pg``, ``scale_out``): a schedule of sales encoded before the clock starts,
each sale identify → calculate → hold → confirm on one till's keep-alive connection, and the
tally of what came back.

The client is a lean raw-HTTP one, not the till's ``ProcessingClient``: pre-encoded HTTP/1.1
requests, and of each answer only the status, Content-Length and body, with ``json.loads``
only where the next call needs a value (see :mod:`benchmarks.bench_throughput` for why).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from benchmarks.result import median, percentile
from processing.server import seed

REQUEST_TIMEOUT = 10.0
CATALOG = 200
"""Products the demo catalog seeds (``seed.seed_catalog``)."""


class Failed(Exception):
    """A non-2xx answer, a malformed answer, a timeout or a dropped connection."""


class Conn:
    """One keep-alive HTTP/1.1 connection of one till: pre-encoded requests, and of the answer
    only the status line, Content-Length and the body bytes."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.fixed = (
            f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
            "Accept: application/json\r\nContent-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def _drop(self) -> None:
        self.close()
        self.writer = self.reader = None

    async def post(self, path: str, body: bytes, key: str | None = None) -> bytes:
        """POST ``body`` and return the answer's body; raises Failed unless it is 2xx."""
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.writer is not None and self.reader is not None
        head = b"POST " + path.encode() + b" HTTP/1.1\r\n" + self.fixed
        if key is not None:
            head += b"Idempotency-Key: " + key.encode() + b"\r\n"
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        try:
            self.writer.write(head + body)
            raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            status = int(raw[9:12])
            length = -1
            close = False
            for line in raw.lower().split(b"\r\n")[1:]:
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
                elif line.startswith(b"connection:") and b"close" in line:
                    close = True
            if length < 0:
                raise Failed(f"{path}: answer without Content-Length")
            answer = await asyncio.wait_for(self.reader.readexactly(length), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self._drop()
            raise Failed(f"{path}: {type(exc).__name__}: {exc}") from None
        except TimeoutError:
            self._drop()
            raise Failed(f"{path}: no answer within {REQUEST_TIMEOUT} s") from None
        if close:
            self._drop()
        if not 200 <= status < 300:
            raise Failed(f"{path}: HTTP {status} {answer[:200]!r}")
        return answer


@dataclass(frozen=True)
class Sale:
    at: float
    """Seconds after the start when the sale is due."""
    identify: bytes
    check_id: str
    lines: bytes
    wish: int
    """Points the customer would like to spend (capped by the balance)."""
    counted: bool
    """False during the warm-up."""


def check_lines(rng: random.Random) -> bytes:
    """10 to 30 catalog lines as wire JSON (Decimal strings), a few of them weighed."""
    out = []
    for _ in range(rng.randrange(10, 31)):
        price = rng.randrange(3000, 150000)
        weighed = rng.random() < 0.15
        quantity = (
            Decimal(rng.randrange(150, 2500)) / 1000
            if weighed
            else Decimal(rng.choice((1, 1, 1, 2, 3)))
        )
        amount = (Decimal(price) * quantity / 100).quantize(Decimal("0.01"))
        out.append(
            {
                "barcode": seed.ean13("460", 7_000_000 + rng.randrange(1, CATALOG + 1)),
                "name": "item",
                "category": "grocery",
                "price": f"{price / 100:.2f}",
                "quantity": f"{quantity}",
                "amount": f"{amount}",
            }
        )
    return json.dumps(out).encode()


def plan(
    offered: float, warmup: float, duration: float, members: list[int], rng: random.Random
) -> list[Sale]:
    """A schedule of ``offered`` sales a second for ``warmup + duration`` seconds, one per
    member of ``members`` in order (the caller draws them, distinct), encoded before the clock
    starts. Raises ValueError when ``members`` is too short."""
    count = int((warmup + duration) * offered)
    if len(members) < count:
        raise ValueError(f"{count} sales need {count} members, given {len(members)}")
    sales = []
    for n, number in enumerate(members[:count]):
        at = n / offered
        identify = {"kind": "auto", "value": f"+7900{number:07d}", "entry": "typed"}
        sales.append(
            Sale(
                at,
                json.dumps(identify).encode(),
                str(uuid.uuid4()),
                check_lines(rng),
                rng.randrange(0, 60),
                at >= warmup,
            )
        )
    return sales


@dataclass
class Tally:
    by_route: dict[str, list[float]] = field(
        default_factory=lambda: {r: [] for r in ("identify", "calculate", "hold", "confirm")}
    )
    """Counted request latencies per route (the first from the sale's scheduled time)."""
    sales: list[float] = field(default_factory=list)
    """Counted sales: scheduled time to the confirm's answer."""
    done: list[tuple[str, int, int]] = field(default_factory=list)
    """(check id, earned, spent in hundredths) of every confirmed check, warm-up included."""
    finished_at: list[float] = field(default_factory=list)
    """When each counted sale ended (seconds after the start)."""
    ended: list[float] = field(default_factory=list)
    """When each sale ended, warm-up included (seconds after the start)."""
    waited_for_till: int = 0
    """Counted sales that found every till connection busy."""
    failures: list[str] = field(default_factory=list)
    blocked: int = 0
    answer_bytes: int = 0
    """Bytes of every answer body (the floor answers bodies of their mean size)."""
    answers: int = 0

    def requests(self) -> list[float]:
        """Every counted request latency, all routes together."""
        return [t for ts in self.by_route.values() for t in ts]

    def achieved(self, warmup: float, duration: float) -> float:
        """Counted sales a second, from ``warmup`` to the last one's end (``duration`` at
        least: a run that ended early is not flattered)."""
        end = max(self.finished_at, default=warmup + duration)
        return len(self.sales) / max(end - warmup, duration)


def hundredths(text: str) -> int:
    return int(Decimal(text) * 100)


async def sell(conn: Conn, sale: Sale, due: float, tally: Tally) -> None:
    clock = time.perf_counter
    routes = tally.by_route

    def note(route: str, seconds: float) -> None:
        if sale.counted:
            routes[route].append(seconds)

    async def post(path: str, body: bytes, key: str | None = None) -> bytes:
        answer = await conn.post(path, body, key)
        tally.answer_bytes += len(answer)
        tally.answers += 1
        return answer

    found = json.loads(await post("/v1/identify", sale.identify))
    t1 = clock()
    note("identify", t1 - due)
    member = found["member"]
    if member["state"] == "blocked":
        tally.blocked += 1  # the till stops here by design
        return
    spend = Decimal(0)
    if member["state"] == "active":
        spend = max(Decimal(0), min(Decimal(found["balance"]["available"]), Decimal(sale.wish)))
    cid = sale.check_id
    check = (
        f'{{"check_id":"{cid}","member_id":{json.dumps(member["id"])},"lines":'.encode()
        + sale.lines
        + f',"requested_spend":"{spend:f}"}}'.encode()
    )
    calc = json.loads(await post("/v1/calculate", check))
    t2 = clock()
    note("calculate", t2 - t1)
    hold = check[:-1] + b',"fingerprint":' + json.dumps(calc["fingerprint"]).encode() + b"}"
    await post(f"/v1/checks/{cid}/hold", hold, f"h{cid}")
    t3 = clock()
    note("hold", t3 - t2)
    result = json.loads(await post(f"/v1/checks/{cid}/confirm", b"", f"c{cid}"))
    t4 = clock()
    note("confirm", t4 - t3)
    tally.done.append((cid, hundredths(result["earned"]), hundredths(result["spent"])))
    if sale.counted:
        tally.sales.append(t4 - due)


async def run(
    url: str, keys: list[str], sales: list[Sale], began: Callable[[float], None]
) -> Tally:
    """Run the schedule (``began`` is told its start time, perf_counter); returns the tally."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    tally = Tally()
    idle: asyncio.Queue[Conn] = asyncio.Queue()
    conns = [Conn(host, int(port), key) for key in keys]
    await asyncio.gather(*(c.open() for c in conns))  # connected before the clock starts
    for conn in conns:
        idle.put_nowait(conn)
    start = time.perf_counter()
    began(start)

    async def one(sale: Sale, due: float) -> None:
        if idle.empty() and sale.counted:
            tally.waited_for_till += 1
        conn = await idle.get()
        try:
            await sell(conn, sale, due, tally)
        except Failed as exc:
            tally.failures.append(str(exc))
        except (ValueError, KeyError, TypeError) as exc:
            tally.failures.append(f"malformed answer: {type(exc).__name__}: {exc}")
        finally:
            idle.put_nowait(conn)
            ended = time.perf_counter() - start
            tally.ended.append(ended)
            if sale.counted:
                tally.finished_at.append(ended)

    tasks = []
    for sale in sales:
        due = start + sale.at
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(sale, due)))
    await asyncio.gather(*tasks)
    for conn in conns:
        conn.close()
    return tally


@dataclass
class Window:
    """A run of the schedule with readings taken where its measured window starts."""

    tally: Tally
    readings: dict[str, float]
    """What ``read()`` returned at the window's start."""
    starts_at: float
    """Seconds after the run's start when the window began."""

    @property
    def ended_in(self) -> int:
        """Sales that ended inside the window (what its CPU readings are divided by)."""
        return sum(1 for t in self.tally.ended if t >= self.starts_at)


async def run_window(
    url: str,
    keys: list[str],
    sales: list[Sale],
    warmup: float,
    read: Callable[[], dict[str, float]],
) -> Window:
    """Run ``sales`` against ``url``, calling ``read()`` (CPU counters) ``warmup`` seconds
    after the start: the window's opening readings, to subtract from the closing ones."""
    marks: dict[str, float] = {}
    readings: dict[str, float] = {}
    started = asyncio.Event()

    def began(at: float) -> None:
        marks["start"] = at
        started.set()

    async def sample_at_window() -> None:
        await started.wait()
        await asyncio.sleep(marks["start"] + warmup - time.perf_counter())
        readings.update(read())
        marks["at"] = time.perf_counter() - marks["start"]

    sampler = asyncio.create_task(sample_at_window())
    tally = await run(url, keys, sales, began)
    await sampler
    return Window(tally, readings, marks["at"])


def latency_ms(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None}
    return {
        "p50": round(median(values) * 1000, 2),
        "p99": round(percentile(values, 99) * 1000, 2),
    }
