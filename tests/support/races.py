"""Tills racing through several server processes or nodes: many holds on one member's points
at the same moment, and one confirm sent many times at once under one idempotency key."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial

import httpx

from processing import wire
from processing.client import ProcessingClient
from processing.errors import Rejected

LOSERS = frozenset({"insufficient_points", "stale_calculation"})
"""How a hold that lost the race is refused."""


def at_once(calls: Sequence[Callable[[], None]], timeout: float) -> None:
    """Run every call on its own thread and wait for them all (each for ``timeout``)."""
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)


def one_hold_wins(
    clients: Sequence[ProcessingClient],
    request: Callable[[], wire.CheckRequest],
    timeout: float,
) -> tuple[int, wire.Hold]:
    """Each client calculates its own ``request()``, then all hold at the same moment: exactly
    one hold wins, every other is refused as a loser (asserted). The winner's index and hold."""
    outcomes: list[tuple[int, object]] = []
    barrier = threading.Barrier(len(clients))

    def till(n: int, c: ProcessingClient) -> None:
        req = request()
        calc = c.calculate(req)
        barrier.wait(timeout=timeout)
        hold = wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint)
        try:
            outcomes.append((n, c.hold(hold, idempotency_key=f"h{req.check_id}")))
        except Rejected as exc:
            outcomes.append((n, exc.code))

    at_once([partial(till, n, c) for n, c in enumerate(clients)], timeout=3 * timeout)
    held = [(n, o) for n, o in outcomes if isinstance(o, wire.Hold)]
    assert len(held) == 1 and len(outcomes) == len(clients), outcomes
    assert {o for _, o in outcomes if not isinstance(o, wire.Hold)} <= LOSERS
    winner, won = held[0]
    assert isinstance(won, wire.Hold)
    return winner, won


def confirm_at_once(
    urls: Sequence[str],
    check_id: str,
    api_key: str,
    times: int,
    timeout: float = 5.0,
    wait: float = 60.0,
) -> list[bytes]:
    """The confirm of ``check_id`` under one idempotency key, sent ``times`` at once over
    fresh connections (spread over ``urls`` in turn, each waiting ``timeout`` for its answer);
    every answer's body."""
    answers: list[bytes] = []

    def confirm(url: str) -> None:
        with httpx.Client(base_url=url, timeout=timeout) as raw:
            answers.append(
                raw.post(
                    f"/v1/checks/{check_id}/confirm",
                    headers={
                        "Authorization": f"Bearer {api_key}",
                        "Idempotency-Key": "confirm-once",
                    },
                ).content
            )

    at_once([partial(confirm, urls[i % len(urls)]) for i in range(times)], timeout=wait)
    return answers
