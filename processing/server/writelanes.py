"""Each till's writes go to the database a few at a time, so a leaked key cannot crowd out the
other tills' writes.

A till's writes are never refused for their number (a till draining its offline queue must
never be told no, :mod:`readlimit`), but nothing bounded how many it had in progress at once. A
key taken from a store's box could send hundreds of holds or confirms together, and all of them
would be in the server at once:

- on SQLite they fill the one writer's queue, and every other till's write waits behind them;
- on PostgreSQL they conflict with each other, and a write that loses three rounds takes the
  write gate alone (:mod:`pg`), so every node's writes wait for each of them in turn.

So each till (its key's row, ``TillIdentity.pk``) has a lane of ``PER_TILL`` writes in progress;
its further writes wait, before their body is read, until one of its own ends. They wait, they
are not refused: an honest till is never held up by it (it sends a sale's writes one after the
other, and at most its outbox drain beside them), and a flooding till holds at most
``PER_TILL`` places in the writer's queue, so the other tills' writes keep their turns.

The lanes live in the server process, like the read limit: with ``serve --workers N`` (or
several nodes) a till may have up to N times ``PER_TILL`` writes in progress. Used on the event
loop's thread only, so it takes no lock; a till's lane is dropped when nothing is in it, so
their number is bounded by the tills writing at this moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

PER_TILL = 2
"""Writes of one till in progress at once in one server process: a sale's write and the
outbox drain's beside it."""


@dataclass
class _Lane:
    places: asyncio.Semaphore
    """``per_till`` places, handed out in arrival order (a write given up while it waits, or
    just as it is handed a place, passes its turn on: asyncio's own semaphore does that)."""
    writes: int = 0
    """Writes in the lane: in progress and waiting."""
    in_progress: int = 0


class WriteLanes:
    """Per-till lanes of ``per_till`` writes in progress; the rest wait in arrival order."""

    def __init__(self, per_till: int = PER_TILL) -> None:
        if isinstance(per_till, bool) or not isinstance(per_till, int) or per_till < 1:
            raise ValueError("The writes a till may have in progress must be a whole number ≥ 1.")
        self.per_till = per_till
        self._lanes: dict[int, _Lane] = {}

    def in_progress(self, till: int) -> int:
        """Writes of ``till`` past its lane now."""
        lane = self._lanes.get(till)
        return 0 if lane is None else lane.in_progress

    def waiting(self, till: int) -> int:
        """Writes of ``till`` waiting for a place in its lane now."""
        lane = self._lanes.get(till)
        return 0 if lane is None else lane.writes - lane.in_progress

    @asynccontextmanager
    async def lane(self, till: int) -> AsyncIterator[None]:
        """A place in ``till``'s lane for the body of the ``async with``."""
        lane = self._lanes.get(till)
        if lane is None:
            lane = self._lanes[till] = _Lane(asyncio.Semaphore(self.per_till))
        lane.writes += 1
        try:
            async with lane.places:
                lane.in_progress += 1
                try:
                    yield
                finally:
                    lane.in_progress -= 1
        finally:
            lane.writes -= 1
            if lane.writes == 0:
                del self._lanes[till]
