"""A server with a tight per-till read limit (processing.server.readlimit) on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from processing.server.readlimit import ReadLimit
from processing.server.testing import ManualClock, RunningServer, running_server


@contextmanager
def read_limited(path: Path, clock: ManualClock, burst: int) -> Iterator[RunningServer]:
    """A live server whose tills get ``burst`` reads at once and one a second back: the manual
    clock never moves unless the test moves it, so nothing refills by waiting."""
    with running_server(
        path, clock=clock, synchronous="NORMAL", read_limit=ReadLimit(rate=1.0, burst=burst)
    ) as live:
        yield live
