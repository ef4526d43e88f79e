"""Each till's writes go to the database a few at a time (processing.server.writelanes): a till
flooding the server with writes holds only its own lane's places in the writer's queue, and
another till's write goes straight on to the database beside them. Nothing is refused and
nothing is lost: every write is answered once the database is free.

On both engines the database is kept busy from the test — SQLite's write lock (the lock every
server writer queues on first), PostgreSQL's write gate taken alone (every write's first
statement waits for it) — so what is in progress and what waits can be read off the lanes at
leisure: no timing is asserted, the waits below only bound a hang."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from processing import wire
from processing.server.pg import _QUEUED
from processing.server.testing import RunningServer
from processing.server.write_lock import WriteLock
from processing.server.writelanes import PER_TILL, WriteLanes

ANNA = "100001"
LINE = {"name": "bread", "price": "40.00", "quantity": "1", "amount": "40.00"}
FLOOD = 8


@contextmanager
def _writes_held(live: RunningServer, target: str | Path) -> Iterator[None]:
    """Every server write waits at the database for the duration of the block."""
    if isinstance(target, Path):
        lock = WriteLock(live.ctx.storage.path)
        lock.acquire()
        try:
            yield
        finally:
            lock.release()
            lock.close()
        return
    with psycopg.connect(target) as conn:
        conn.execute(_QUEUED)  # in a transaction until the connection's block ends
        yield


def _pk(live: RunningServer, key: str) -> int:
    with live.ctx.storage.read() as db:
        identity = live.ctx.keys.identify(db, key)
    assert identity is not None
    return identity.pk


def _prepared_hold(client: httpx.Client) -> tuple[str, dict[str, object]]:
    """A check calculated by the server, and the body of its hold."""
    check = {"check_id": str(uuid.uuid4()), "member_id": ANNA, "lines": [LINE]}
    calc = client.post("/v1/calculate", json=check)
    assert calc.status_code == 200, calc.text
    return str(check["check_id"]), {**check, "fingerprint": calc.json()["fingerprint"]}


def _hold(url: str, key: str, check_id: str, body: dict[str, object]) -> httpx.Response:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        return c.post(
            f"/v1/checks/{check_id}/hold",
            json=body,
            headers={wire.IDEMPOTENCY_HEADER: str(uuid.uuid4())},
        )


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def test_a_flooding_till_waits_in_its_lane_and_another_tills_write_goes_on(
    server: RunningServer, db_target: str | Path
) -> None:
    live = server
    honest_key = live.add_till("S1", "T2")
    lanes = live.ctx.writes
    flooder, honest = _pk(live, live.api_key), _pk(live, honest_key)
    auth = {"Authorization": f"Bearer {live.api_key}"}
    with httpx.Client(base_url=live.url, headers=auth, timeout=10) as client:
        flood = [_prepared_hold(client) for _ in range(FLOOD)]
    with httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {honest_key}"}, timeout=10
    ) as client:
        honest_check, honest_body = _prepared_hold(client)

    with ThreadPoolExecutor(FLOOD + 1) as pool:
        with _writes_held(live, db_target):
            flooding = [
                pool.submit(_hold, live.url, live.api_key, check_id, body)
                for check_id, body in flood
            ]
            _until(
                lambda: (
                    lanes.in_progress(flooder) == PER_TILL
                    and lanes.waiting(flooder) == FLOOD - PER_TILL
                ),
                "the flood fills its lane and the rest waits",
            )
            answer = pool.submit(_hold, live.url, honest_key, honest_check, honest_body)
            _until(lambda: lanes.in_progress(honest) == 1, "the other till's write goes on")
            # The flood still has only its own places: the other till's write is not behind it.
            assert lanes.in_progress(flooder) == PER_TILL
            assert lanes.waiting(flooder) == FLOOD - PER_TILL
            assert lanes.waiting(honest) == 0
            assert not any(f.done() for f in [*flooding, answer])  # the database is still held
        answers = [f.result() for f in flooding] + [answer.result()]

    for (check_id, _body), held in zip([*flood, (honest_check, honest_body)], answers, strict=True):
        assert held.status_code == 200, held.text
        assert held.json()["check_id"] == check_id
    with live.ctx.storage.read() as db:
        held_checks = {
            row[0] for row in db.execute("SELECT id FROM checks WHERE status = 'held'").fetchall()
        }
    assert held_checks == {check_id for check_id, _ in flood} | {honest_check}
    assert (lanes.in_progress(flooder), lanes.waiting(flooder)) == (0, 0)
    assert (lanes.in_progress(honest), lanes.waiting(honest)) == (0, 0)


def test_a_write_given_up_while_waiting_loses_its_turn_and_keeps_nobody_waiting() -> None:
    async def scenario() -> list[str]:
        lanes = WriteLanes(per_till=1)
        order: list[str] = []
        first_in = asyncio.Event()
        let_go = asyncio.Event()

        async def write(name: str) -> None:
            async with lanes.lane(7):
                order.append(name)
                if name == "first":
                    first_in.set()
                    await let_go.wait()

        first = asyncio.create_task(write("first"))
        await first_in.wait()
        given_up = asyncio.create_task(write("given up"))
        last = asyncio.create_task(write("last"))
        await asyncio.sleep(0)
        assert (lanes.in_progress(7), lanes.waiting(7)) == (1, 2)
        given_up.cancel()
        await asyncio.gather(given_up, return_exceptions=True)
        assert lanes.waiting(7) == 1
        let_go.set()
        await asyncio.wait_for(asyncio.gather(first, last), 10)  # bounds a hang, not a time
        assert (lanes.in_progress(7), lanes.waiting(7)) == (0, 0)
        assert lanes._lanes == {}  # an idle till's lane is dropped: nothing grows per till
        return order

    assert asyncio.run(scenario()) == ["first", "last"]


def test_a_write_handed_its_turn_as_it_is_given_up_passes_the_turn_on() -> None:
    async def scenario() -> list[str]:
        lanes = WriteLanes(per_till=1)
        order: list[str] = []
        let_go = asyncio.Event()

        async def write(name: str) -> None:
            async with lanes.lane(7):
                order.append(name)
                if name == "first":
                    await let_go.wait()

        first = asyncio.create_task(write("first"))
        await asyncio.sleep(0)
        handed = asyncio.create_task(write("handed"))
        last = asyncio.create_task(write("last"))
        await asyncio.sleep(0)
        let_go.set()
        await asyncio.sleep(0)  # "first" ends and hands its place to "handed"...
        handed.cancel()  # ...which is given up before it runs
        await asyncio.wait_for(asyncio.gather(first, handed, last, return_exceptions=True), 10)
        assert (lanes.in_progress(7), lanes.waiting(7)) == (0, 0)
        return order

    assert asyncio.run(scenario()) == ["first", "last"]


@pytest.mark.parametrize("per_till", [0, -1, True, 1.5])
def test_nonsense_lane_sizes_are_refused(per_till: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        WriteLanes(per_till=per_till)  # type: ignore[arg-type]
