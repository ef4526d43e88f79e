"""``server_throughput``: the reference server under an open-loop load of whole sales.

Load: sales arrive on a fixed schedule, ``OFFERED`` per second (one every 1/OFFERED s),
whatever the server is doing; each sale is identify → calculate → hold → confirm (real
Idempotency-Keys) of a 10-30-line check for a member drawn from 100 000, each member at most
once (so no two sales race for one balance, and every refusal is the server's fault). A sale
takes a free till connection (one of ``TILLS`` keep-alive connections, each with its own till
key) and waits for one if none is free. Latency is counted from the moment the sale was
scheduled, not from when the generator got round to sending it, so a server that falls behind
shows every second it made the queue wait (no coordinated omission): the first request of a
sale is timed from its scheduled time, each later one from the answer before it (the till
sends it at once); ``sale`` is scheduled time to the confirm's answer.

A warm-up of ``WARMUP`` seconds at the same rate comes first and is not counted; then
``DURATION`` seconds are measured. Server CPU per check is the server processes' user+system
time (``/proc/<pid>/stat``, the serving process and its workers) over the measured window
divided by the sales it completed in that window; the load generator's own CPU is reported
beside it (it shares the 2 cores). Its floor, measured in the same run: the same schedule's
first ``FLOOR_SECONDS`` (after the warm-up) against the bare HTTP floor
(``benchmarks.bare_asgi``: the product's own uvicorn setup and socket with an ``async def
app`` that answers recorded bytes of the real answers' mean size), so the same connections,
requests and answer bytes; what the server's CPU per check adds to the floor's is the
product's own work (routing, auth, validation, the calculation, SQLite and its fsyncs, the
answers' JSON). Reported as ``cpu_ratio_to_bare_http``, not gated (the issue's 1.3 ms target
is printed beside it).

Then the capacity probe, on the same server: ``CAPACITY_STEPS`` offered in turn, each for
``STEP_SECONDS`` after ``STEP_WARMUP``, to members the run did not use, until a step does not
hold (it falls below ``KEEP_UP`` of its rate, a request fails, or the p99 per request passes
the issue's 100 ms). The highest step that held is the box's capacity with the generator
beside the server (``capacity_checks_per_s``, with its server CPU per check, which falls as
the rate rises: 3.8 ms at 150/s to 2.7 ms at 450/s here, likely as group commit shares fsyncs
and the caches stay warm). Reported, not gated, for the
latency's reason below; afterwards no member's balance may disagree with their lots
(gated: overload must not duplicate or lose points).

Gates, always: no failure (any non-2xx answer, timeout or malformed answer), and afterwards the
ledger balances to the point and holds exactly what the tills were told, with no hold left
open — these make the figure ``broken`` (no retry). And the achieved rate keeps up with the
offered one (>= 90 %): the box sustains the load. Not gated: the latency figures, printed
with the reason (this box is shared by several engineers' builds; a p99 measured beside them
says more about them than about the server), and the issue's later target of 800 checks/s
with p99 <= 100 ms, printed as a goal.

The load generator is a lean raw-HTTP client, not the till's ``ProcessingClient``: one asyncio
process (uvloop) writing pre-encoded HTTP/1.1 requests and reading only the status,
Content-Length and body, with ``json.loads`` only where the next call needs a value. On this
2-core box it shares the cores with the server, and the real client (httpx + pydantic) costs
more CPU per check than the server itself, so it would be charged to the server.
``identify_rtt`` measures the real client.

The server keeps its default per-till read limit (50 reads a second after a burst of 100,
:mod:`processing.server.readlimit`), as production runs it: the idle connections are taken in
turn (a FIFO queue), so each of the 64 tills gets one sale in 64, about one a second at 60
sales/s offered (two reads: identify and calculate), and even the 150/s once offered is under
5 reads a second per till.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import uvloop

from benchmarks.bench_processing import _seeded, bare_server
from benchmarks.result import Result, median, percentile, scratch
from processing.server import auth, ledger, seed
from processing.server.engine import open_storage
from processing.server.storage import Storage
from processing.server.testing import server_process

OFFERED = 60.0
"""Sales per second offered: what this shared 2-core box sustains with the generator beside
the server and other engineers' builds beside both, every time (offered 150/s with the load
average at 5-6, an older server completed 90/s). A soak and correctness load, gated; what the
box can take is the capacity probe's figure, reported."""
KEEP_UP = 0.9
"""Achieved / offered below which the box did not sustain the load (gated, retried)."""
GOAL = 800.0
"""The issue's later target (checks/s, p99 <= 100 ms), printed, not gated yet."""
WARMUP = 5.0
DURATION = 30.0
TILLS = 64
MEMBERS = 100_000
SERVER_WORKERS = 2
"""Server processes on the one port and database (``serve --workers``): one per core."""
FLOOR_SECONDS = 10.0
"""Seconds of the same schedule (after the warm-up) served by the bare HTTP floor."""
REQUEST_TIMEOUT = 10.0
CATALOG = 200
"""Products the demo catalog seeds (``seed.seed_catalog``)."""
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
CAPACITY_STEPS = (200.0, 300.0, 400.0, 500.0, 600.0, 800.0)
"""Sales a second the capacity probe offers in turn, up to the issue's goal, after the run."""
STEP_WARMUP = 2.0
STEP_SECONDS = 8.0
P99_GOAL = 0.100
"""The issue's p99 per request at its goal rate (seconds)."""


class _Failed(Exception):
    """A non-2xx answer, a malformed answer, a timeout or a dropped connection."""


class _Conn:
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
        """POST ``body`` and return the answer's body; raises _Failed unless it is 2xx."""
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
                raise _Failed(f"{path}: answer without Content-Length")
            answer = await asyncio.wait_for(self.reader.readexactly(length), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self._drop()
            raise _Failed(f"{path}: {type(exc).__name__}: {exc}") from None
        except TimeoutError:
            self._drop()
            raise _Failed(f"{path}: no answer within {REQUEST_TIMEOUT} s") from None
        if close:
            self._drop()
        if not 200 <= status < 300:
            raise _Failed(f"{path}: HTTP {status} {answer[:200]!r}")
        return answer


@dataclass(frozen=True)
class _Sale:
    at: float
    """Seconds after the start when the sale is due."""
    identify: bytes
    check_id: str
    lines: bytes
    wish: int
    """Points the customer would like to spend (capped by the balance)."""
    counted: bool
    """False during the warm-up."""


def _lines(rng: random.Random) -> bytes:
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
) -> list[_Sale]:
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
            _Sale(
                at,
                json.dumps(identify).encode(),
                str(uuid.uuid4()),
                _lines(rng),
                rng.randrange(0, 60),
                at >= warmup,
            )
        )
    return sales


def _plan() -> list[_Sale]:
    """This benchmark's schedule (``OFFERED``, ``WARMUP``, ``DURATION``); distinct members."""
    rng = random.Random(11)
    members = rng.sample(range(1, MEMBERS + 1), int((WARMUP + DURATION) * OFFERED))
    return plan(OFFERED, WARMUP, DURATION, members, rng)


@dataclass
class _Tally:
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


def _hundredths(text: str) -> int:
    return int(Decimal(text) * 100)


async def _sale(conn: _Conn, sale: _Sale, due: float, tally: _Tally) -> None:
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
    tally.done.append((cid, _hundredths(result["earned"]), _hundredths(result["spent"])))
    if sale.counted:
        tally.sales.append(t4 - due)


async def _run(
    url: str, keys: list[str], sales: list[_Sale], began: Callable[[float], None]
) -> _Tally:
    """Run the schedule (``began`` is told its start time, perf_counter); returns the tally."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    tally = _Tally()
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    conns = [_Conn(host, int(port), key) for key in keys]
    await asyncio.gather(*(c.open() for c in conns))  # connected before the clock starts
    for conn in conns:
        idle.put_nowait(conn)
    start = time.perf_counter()
    began(start)

    async def one(sale: _Sale, due: float) -> None:
        if idle.empty() and sale.counted:
            tally.waited_for_till += 1
        conn = await idle.get()
        try:
            await _sale(conn, sale, due, tally)
        except _Failed as exc:
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


async def _capacity(url: str, keys: list[str], members: list[int]) -> list[dict[str, object]]:
    """The capacity probe: each of ``CAPACITY_STEPS`` offered open-loop for ``STEP_SECONDS``
    after ``STEP_WARMUP``, to new members drawn from ``members``; a step holds when it kept up
    (``KEEP_UP``), nothing failed and the p99 per request was within ``P99_GOAL``. Stops after
    the first step that does not hold (past it the queue only grows)."""
    pids = server_processes()
    rng = random.Random(29)
    steps: list[dict[str, object]] = []
    for rate in CAPACITY_STEPS:
        count = int((STEP_WARMUP + STEP_SECONDS) * rate)
        sales = plan(rate, STEP_WARMUP, STEP_SECONDS, members[:count], rng)
        members = members[count:]
        window = await run_window(
            url, keys, sales, STEP_WARMUP, lambda: {"server": cpu_seconds(pids)}
        )
        cpu = cpu_seconds(pids) - window.readings["server"]
        tally = window.tally
        end = max(tally.finished_at, default=STEP_WARMUP + STEP_SECONDS)
        achieved = len(tally.sales) / max(end - STEP_WARMUP, STEP_SECONDS)
        requests = [t for ts in tally.by_route.values() for t in ts]
        p99 = percentile(requests, 99) if requests else float("inf")
        in_window = sum(1 for t in tally.ended if t >= window.starts_at)
        held = not tally.failures and achieved >= KEEP_UP * rate and p99 <= P99_GOAL
        steps.append(
            {
                "offered_per_s": rate,
                "achieved_per_s": round(achieved, 1),
                "p50": _ms(requests)["p50"],
                "p99": _ms(requests)["p99"],
                "cpu_ms_per_check": round(cpu / in_window * 1000, 3) if in_window else None,
                "failures": len(tally.failures),
                "first_failure": tally.failures[0] if tally.failures else None,
                "held": held,
            }
        )
        if not held:
            break
    return steps


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def server_processes() -> list[int]:
    """The server processes this process started: ``python -m processing.server serve`` and
    its workers (its children)."""
    servers = []
    for pid in _children(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"processing.server" in argv:
            servers.append(pid)
    workers = []
    for pid in servers:
        for child in _children(pid):  # worker processes, not multiprocessing's tracker
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    workers.append(child)
    return servers + workers


def cpu_seconds(pids: list[int], *, reaped_of: int | None = None) -> float:
    """User + system CPU seconds of ``pids`` so far (their own, not their children's).

    ``reaped_of``: that process's reaped children count too (cutime, cstime). A PostgreSQL
    backend can end between listing and reading: it is skipped here, and its time shows up
    in the postmaster's reaped children instead, so the total stays whole.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        if pid == reaped_of:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16 and 17)
    return total / CLOCK_TICK


@dataclass
class Window:
    """A run of the schedule with readings taken where its measured window starts."""

    tally: _Tally
    readings: dict[str, float]
    """What ``read()`` returned at the window's start."""
    starts_at: float
    """Seconds after the run's start when the window began."""


async def run_window(
    url: str,
    keys: list[str],
    sales: list[_Sale],
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
    tally = await _run(url, keys, sales, began)
    await sampler
    return Window(tally, readings, marks["at"])


async def _measured(url: str, keys: list[str], sales: list[_Sale]) -> dict[str, object]:
    """Run the load, sampling the server's and our own CPU at the window's edges."""
    pids = server_processes()
    if len(pids) != SERVER_WORKERS:
        raise RuntimeError(f"expected {SERVER_WORKERS} server processes, found {pids}")
    window = await run_window(
        url, keys, sales, WARMUP, lambda: {"server": cpu_seconds(pids), "self": _self_cpu()}
    )
    return {
        "tally": window.tally,
        "server_cpu": cpu_seconds(pids) - window.readings["server"],
        "self_cpu": _self_cpu() - window.readings["self"],
        "window_from": window.starts_at,
    }


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _ledger(db_path: Path | str, done: list[tuple[str, int, int]]) -> dict[str, object]:
    """Whether the ledger balances and holds exactly what the tills were told (``db_path``:
    an SQLite file or a PostgreSQL DSN)."""
    storage = open_storage(db_path)
    with storage.read() as db:
        unbalanced = ledger.audit(db)
        ids = [check_id for check_id, _, _ in done]
        earned = spent = 0
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" for _ in part)
            earned += db.execute(
                f"SELECT COALESCE(SUM(points), 0) FROM movements WHERE kind = 'earn'"
                f" AND check_id IN ({marks})",
                part,
            ).fetchone()[0]
            spent -= db.execute(
                f"SELECT COALESCE(SUM(points), 0) FROM movements WHERE kind = 'spend'"
                f" AND check_id IN ({marks})",
                part,
            ).fetchone()[0]
        open_holds = db.execute("SELECT COUNT(*) FROM checks WHERE status = 'held'").fetchone()[0]
    storage.close()
    told_earned = sum(e for _, e, _ in done)
    told_spent = sum(s for _, _, s in done)
    return {
        "balanced": not unbalanced
        and earned == told_earned
        and spent == told_spent
        and open_holds == 0,
        "unbalanced_members": len(unbalanced),
        "earned_vs_told": [earned, told_earned],
        "spent_vs_told": [spent, told_spent],
        "open_holds": open_holds,
    }


def _audit(db_path: Path | str) -> int:
    """How many members' balances disagree with their lots and movements."""
    storage = open_storage(db_path)
    try:
        with storage.read() as db:
            return len(ledger.audit(db))
    finally:
        storage.close()


def _ms(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None}
    return {
        "p50": round(median(values) * 1000, 2),
        "p99": round(percentile(values, 99) * 1000, 2),
    }


def _floor_answer(size: int) -> bytes:
    """One answer every step of the generator accepts (identify, calculate, hold, confirm),
    padded to ``size`` bytes: the mean size of the real server's answers in this run."""
    answer = {
        "member": {"id": "100001", "state": "active"},
        "balance": {"available": "0.00"},
        "fingerprint": "f" * 64,
        "earned": "0.00",
        "spent": "0.00",
        "pad": "",
    }
    base = len(json.dumps(answer).encode())
    answer["pad"] = "x" * max(0, size - base)
    return json.dumps(answer).encode()


def _bare_floor(db_path: Path, keys: list[str], sales: list[_Sale], size: int) -> float:
    """Server CPU per sale of the bare HTTP floor (``benchmarks.bare_asgi``: the product's
    uvicorn setup and socket, an ``async def app`` answering recorded bytes) under the same
    open-loop schedule, the same requests and answers of the same mean size; the warm-up is
    not counted. The product's own work is what its CPU per check adds to this."""
    window = [sale for sale in sales if sale.at < WARMUP + FLOOR_SECONDS]
    with (
        bare_server(db_path, _floor_answer(size)) as url,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        pids = [pid for pid in _children(os.getpid()) if b"benchmarks.bare_asgi" in _cmdline(pid)]
        measured = runner.run(
            run_window(url, keys, window, WARMUP, lambda: {"cpu": cpu_seconds(pids)})
        )
        cpu = cpu_seconds(pids) - measured.readings["cpu"]
    tally = measured.tally
    if tally.failures:
        raise RuntimeError(f"the bare HTTP floor failed: {tally.failures[0]}")
    counted = sum(1 for t in tally.ended if t >= measured.starts_at)
    return cpu / counted * 1000 if counted else float("nan")


def server_errors(log: Path) -> str | None:
    """The last traceback in a server's log (``server_process(log=…)``), for a broken
    figure's report: a 500 must say why."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    start = text.rfind("Traceback (most recent call last)")
    if start < 0:
        return None
    lines = text[start:].splitlines()
    ends = [i for i, line in enumerate(lines) if line and not line.startswith((" ", "Traceback"))]
    last = ends[0] if ends else len(lines) - 1
    return "\n".join(lines[: last + 3])[-3000:]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def server_throughput() -> Result:
    """Open-loop sales against ``till processing serve --workers 2`` (see the module)."""
    sales = _plan()
    used = {json.loads(sale.identify)["value"] for sale in sales}
    spare = [m for m in range(1, MEMBERS + 1) if f"+7900{m:07d}" not in used]
    random.Random(23).shuffle(spare)
    with scratch() as tmp:
        db_path = Path(tmp) / "bench.db"
        _seeded(db_path, MEMBERS)
        storage = Storage(db_path)
        with storage.write() as db:
            keys = [auth.add_till(db, "S1", f"T{i}", int(time.time())) for i in range(TILLS)]
        storage.close()
        with (
            server_process(db_path, workers=SERVER_WORKERS, log=Path(tmp) / "server.log") as url,
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
        ):
            got = runner.run(_measured(url, keys, sales))
            tally = got["tally"]
            assert isinstance(tally, _Tally)
            books = _ledger(db_path, tally.done)  # the run's sales, before the probe's
            steps = runner.run(_capacity(url, keys, spare))
        # Overloaded or not, no member's balance may disagree with their lots and movements.
        overload_unbalanced = _audit(db_path)
        server_error = server_errors(Path(tmp) / "server.log")
        floor_cpu = _bare_floor(db_path, keys, sales, tally.answer_bytes // max(1, tally.answers))
    counted = sum(1 for s in sales if s.counted)
    completed = len(tally.sales)
    window_end = max(tally.finished_at, default=WARMUP + DURATION)
    achieved = completed / max(window_end - WARMUP, DURATION)
    requests = [t for ts in tally.by_route.values() for t in ts]
    window_from = float(got["window_from"])  # type: ignore[arg-type]
    in_window = sum(1 for t in tally.ended if t >= window_from)
    server_cpu, self_cpu = float(got["server_cpu"]), float(got["self_cpu"])  # type: ignore[arg-type]
    cpu_per_check = server_cpu / in_window * 1000 if in_window else None
    client_cpu = self_cpu / in_window * 1000 if in_window else None
    sale_ms = _ms(tally.sales)
    failures = tally.failures
    broken = bool(failures) or not books["balanced"] or bool(overload_unbalanced)
    held = [step for step in steps if step["held"]]
    capacity = held[-1] if held else None
    keeps_up = achieved >= KEEP_UP * OFFERED
    reason = (
        "latency is reported, not gated: this 2-core box is shared with other builds, so a"
        " p99 measured beside them says more about them than about the server"
    )
    print(f"     server_throughput: {reason}", flush=True)
    if server_error:
        print(f"     server_throughput: a server failed:\n{server_error}", flush=True)
    for step in steps:
        print(
            f"     server_throughput: capacity probe, offered {step['offered_per_s']:.0f}/s:"
            f" {step['achieved_per_s']}/s, p99 {step['p99']} ms,"
            f" {step['cpu_ms_per_check']} ms server CPU per check,"
            f" {step['failures']} failed{'' if step['held'] else ' (did not hold)'}",
            flush=True,
        )
    if overload_unbalanced:
        print(
            f"     server_throughput: after the capacity probe {overload_unbalanced} members'"
            " balances disagree with their lots",
            flush=True,
        )
    print(
        f"     server_throughput: later goal {GOAL:.0f} checks/s with p99 <= 100 ms per request"
        f" and <= 1.3 ms server CPU per check; now {achieved:.0f} checks/s offered"
        f" {OFFERED:.0f}, p99 {_ms(requests)['p99']} ms, {cpu_per_check or 0:.2f} ms CPU per check"
        f" ({(cpu_per_check or 0) / floor_cpu:.1f} x the bare HTTP floor's {floor_cpu:.2f} ms);"
        " capacity here (the probe's highest rate that kept up, p99 <= 100 ms):"
        + (
            f" {capacity['achieved_per_s']} checks/s at {capacity['cpu_ms_per_check']} ms CPU"
            " per check"
            if capacity
            else " below the probe's first step"
        ),
        flush=True,
    )
    return Result(
        "server_throughput",
        achieved,
        "checks/s",
        None,
        None,
        f">= {KEEP_UP:.0%} of {OFFERED:.0f} sales/s offered open-loop (10-30 lines, 100 000"
        f" members, {DURATION:.0f} s after a {WARMUP:.0f} s warm-up), no failure, ledger balanced;"
        " latency reported, not gated",
        keeps_up and not broken,
        {
            "offered_per_s": OFFERED,
            "p50": _ms(requests)["p50"],
            "p99": _ms(requests)["p99"],
            "sale_ms": sale_ms,
            "p50_p99_ms_by_route": {route: _ms(ts) for route, ts in tally.by_route.items()},
            "cpu_ms_per_check": None if cpu_per_check is None else round(cpu_per_check, 3),
            "floor_bare_http_cpu_ms_per_check": round(floor_cpu, 3),
            "cpu_ratio_to_bare_http": None
            if cpu_per_check is None
            else round(cpu_per_check / floor_cpu, 2),
            "mean_answer_bytes": tally.answer_bytes // max(1, tally.answers),
            "load_generator_cpu_ms_per_check": None if client_cpu is None else round(client_cpu, 3),
            "checks": completed,
            "scheduled": counted,
            "sales_that_waited_for_a_till": tally.waited_for_till,
            "failures": len(failures),
            "first_failure": failures[0] if failures else None,
            "server_error": server_error,
            "blocked_members_skipped": tally.blocked,
            "server_workers": SERVER_WORKERS,
            "ledger": books,
            "latency_gated": False,
            "latency_not_gated_because": reason,
            "later_goal": f"{GOAL:.0f} checks/s, p99 <= 100 ms, server CPU <= 1.3 ms per check",
            "capacity_checks_per_s": None if capacity is None else capacity["achieved_per_s"],
            "capacity_cpu_ms_per_check": None if capacity is None else capacity["cpu_ms_per_check"],
            "capacity_probe": steps,
            "capacity_not_gated_because": reason,
            "unbalanced_members_after_probe": overload_unbalanced,
        },
        OFFERED * KEEP_UP / achieved if achieved else float("inf"),
        broken,
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {"server_throughput": server_throughput}
