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
the rate rises: 3.8 ms at 150/s to 2.7 ms at 450/s here). Two causes, both measured: group
commit shares a COMMIT among more writes; and the same work costs more CPU after the process
has been idle. The four requests of a sale driven in-process, no sockets, one thread's CPU:
3.9-4.6 ms a sale back to back, 5.9-6.2 ms with 16 ms of idle between sales (the gap at
60/s), 5.6 ms with 4 ms; the first request after the gap (identify) doubles. Caches and the
core's state are cold after a wait on this shared virtual machine, so the gated 60/s figure
is the dearest CPU per check, and part of what it adds to the capacity figure is not the
server's code. Reported, not gated, for the latency's reason below; afterwards no member's
balance may disagree with their lots (gated: overload must not duplicate or lose points).

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
import time
from collections.abc import Callable
from pathlib import Path

import uvloop

from benchmarks.bench_processing import _seeded, bare_server
from benchmarks.load import Sale, Tally, latency_ms, plan, run_window
from benchmarks.procstat import (
    children,
    cmdline,
    cpu_seconds,
    self_cpu,
    server_errors,
    server_processes,
)
from benchmarks.result import Result, percentile, scratch
from processing.server import auth, ledger
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
CAPACITY_STEPS = (200.0, 300.0, 400.0, 500.0, 600.0, 800.0)
"""Sales a second the capacity probe offers in turn, up to the issue's goal, after the run."""
STEP_WARMUP = 2.0
STEP_SECONDS = 8.0
P99_GOAL = 0.100
"""The issue's p99 per request at its goal rate (seconds)."""


def _plan() -> tuple[list[Sale], list[int]]:
    """This benchmark's schedule (``OFFERED``, ``WARMUP``, ``DURATION``), one sale per member,
    and the members it leaves for the capacity probe, all in one shuffled draw."""
    rng = random.Random(11)
    members = rng.sample(range(1, MEMBERS + 1), MEMBERS)
    count = int((WARMUP + DURATION) * OFFERED)
    return plan(OFFERED, WARMUP, DURATION, members[:count], rng), members[count:]


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
        achieved = tally.achieved(STEP_WARMUP, STEP_SECONDS)
        requests = tally.requests()
        p99 = percentile(requests, 99) if requests else float("inf")
        in_window = window.ended_in
        held = not tally.failures and achieved >= KEEP_UP * rate and p99 <= P99_GOAL
        steps.append(
            {
                "offered_per_s": rate,
                "achieved_per_s": round(achieved, 1),
                "p50": latency_ms(requests)["p50"],
                "p99": latency_ms(requests)["p99"],
                "cpu_ms_per_check": round(cpu / in_window * 1000, 3) if in_window else None,
                "failures": len(tally.failures),
                "first_failure": tally.failures[0] if tally.failures else None,
                "held": held,
            }
        )
        if not held:
            break
    return steps


async def _measured(url: str, keys: list[str], sales: list[Sale]) -> dict[str, object]:
    """Run the load, sampling the server's and our own CPU at the window's edges."""
    pids = server_processes()
    if len(pids) != SERVER_WORKERS:
        raise RuntimeError(f"expected {SERVER_WORKERS} server processes, found {pids}")
    window = await run_window(
        url, keys, sales, WARMUP, lambda: {"server": cpu_seconds(pids), "self": self_cpu()}
    )
    return {
        "tally": window.tally,
        "server_cpu": cpu_seconds(pids) - window.readings["server"],
        "self_cpu": self_cpu() - window.readings["self"],
        "in_window": window.ended_in,
    }


def ledger_books(db_path: Path | str, done: list[tuple[str, int, int]]) -> dict[str, object]:
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


def _bare_floor(db_path: Path, keys: list[str], sales: list[Sale], size: int) -> float:
    """Server CPU per sale of the bare HTTP floor (``benchmarks.bare_asgi``: the product's
    uvicorn setup and socket, an ``async def app`` answering recorded bytes) under the same
    open-loop schedule, the same requests and answers of the same mean size; the warm-up is
    not counted. The product's own work is what its CPU per check adds to this."""
    window = [sale for sale in sales if sale.at < WARMUP + FLOOR_SECONDS]
    with (
        bare_server(db_path, _floor_answer(size)) as url,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        pids = [pid for pid in children(os.getpid()) if b"benchmarks.bare_asgi" in cmdline(pid)]
        measured = runner.run(
            run_window(url, keys, window, WARMUP, lambda: {"cpu": cpu_seconds(pids)})
        )
        cpu = cpu_seconds(pids) - measured.readings["cpu"]
    tally = measured.tally
    if tally.failures:
        raise RuntimeError(f"the bare HTTP floor failed: {tally.failures[0]}")
    counted = measured.ended_in
    return cpu / counted * 1000 if counted else float("nan")


def server_throughput() -> Result:
    """Open-loop sales against ``till processing serve --workers 2`` (see the module)."""
    sales, spare = _plan()
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
            assert isinstance(tally, Tally)
            books = ledger_books(db_path, tally.done)  # the run's sales, before the probe's
            steps = runner.run(_capacity(url, keys, spare))
        # Overloaded or not, no member's balance may disagree with their lots and movements.
        overload_unbalanced = _audit(db_path)
        server_error = server_errors(Path(tmp) / "server.log")
        floor_cpu = _bare_floor(db_path, keys, sales, tally.answer_bytes // max(1, tally.answers))
    counted = sum(1 for s in sales if s.counted)
    completed = len(tally.sales)
    achieved = tally.achieved(WARMUP, DURATION)
    requests = tally.requests()
    in_window = int(got["in_window"])  # type: ignore[call-overload]
    server_cpu, self_cpu = float(got["server_cpu"]), float(got["self_cpu"])  # type: ignore[arg-type]
    cpu_per_check = server_cpu / in_window * 1000 if in_window else None
    client_cpu = self_cpu / in_window * 1000 if in_window else None
    sale_ms = latency_ms(tally.sales)
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
        f" {OFFERED:.0f}, p99 {latency_ms(requests)['p99']} ms,"
        f" {cpu_per_check or 0:.2f} ms CPU per check"
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
            "p50": latency_ms(requests)["p50"],
            "p99": latency_ms(requests)["p99"],
            "sale_ms": sale_ms,
            "p50_p99_ms_by_route": {route: latency_ms(ts) for route, ts in tally.by_route.items()},
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
