"""A first download of the member cache is more pages than the server's per-till read burst:
the refresh waits out each ``429 too_many_requests`` (its Retry-After) and goes on, instead of
stopping until the next refresh minutes later. Real server on loopback with a small limit; its
manual clock is moved by the refresh's own pause, so nothing waits for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_cache.db import open_database
from offline_cache.members import MemberCache
from offline_cache.refresh import MOST_REFUSALS, MOST_WAIT_S, _wait, refresh_members
from processing.client import ProcessingClient
from processing.errors import ErrorCode, Rejected
from processing.server.testing import ManualClock, RunningServer, running_server
from tests.support.read_limited import read_limited

BURST = 2


@pytest.fixture
def limited(tmp_path: Path, clock: ManualClock) -> Iterator[RunningServer]:
    with read_limited(tmp_path / "processing.db", clock, BURST) as live:
        yield live


def _all_members(tmp_path: Path) -> int:
    """How many members the till's store has, downloaded from an unlimited server."""
    with (
        running_server(tmp_path / "unlimited.db") as free,
        ProcessingClient(free.url, free.api_key) as client,
    ):
        db = open_database(tmp_path / "unlimited-till.db")
        try:
            return refresh_members(db, client, page=1000, sleep=_never)
        finally:
            db.close()


def _never(seconds: float) -> None:
    raise AssertionError(f"an unlimited server made the refresh wait {seconds} s")


def test_a_download_longer_than_the_burst_waits_and_completes(
    tmp_path: Path, limited: RunningServer, clock: ManualClock
) -> None:
    expected = _all_members(tmp_path)
    assert expected > BURST + 1  # one member a page: more pages than the burst
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    db = open_database(tmp_path / "till.db")
    try:
        with ProcessingClient(limited.url, limited.api_key) as client:
            stored = refresh_members(db, client, page=1, sleep=wait)
        assert stored == expected == MemberCache(db).count()
    finally:
        db.close()
    assert waits and set(waits) == {1.0}  # the server's Retry-After at one read a second


def test_a_server_that_keeps_refusing_stops_the_refresh_and_the_next_one_resumes(
    tmp_path: Path, limited: RunningServer, clock: ManualClock
) -> None:
    expected = _all_members(tmp_path)
    waits: list[float] = []
    db = open_database(tmp_path / "till.db")
    try:
        with ProcessingClient(limited.url, limited.api_key) as client:
            with pytest.raises(Rejected) as refused:  # the clock never moves: refused for ever
                refresh_members(db, client, page=1, sleep=waits.append)
            assert refused.value.code == ErrorCode.TOO_MANY_REQUESTS
            assert len(waits) == MOST_REFUSALS
            assert MemberCache(db).count() == BURST  # the pages before the limit are kept

            clock.advance(3600)  # the next refresh, later: it resumes from the saved cursor
            resumed = refresh_members(db, client, page=1, sleep=clock.advance)
        assert resumed == expected - BURST and MemberCache(db).count() == expected
    finally:
        db.close()


@pytest.mark.parametrize(
    ("details", "wait"),
    [
        ({"retry_after_seconds": 1}, 1.0),
        ({"retry_after_seconds": 86_400}, MOST_WAIT_S),  # a hostile answer cannot park it
        ({"retry_after_seconds": -5}, 1.0),
        ({"retry_after_seconds": "soon"}, 1.0),
        ({"retry_after_seconds": True}, 1.0),
        ({}, 1.0),
    ],
)
def test_the_pause_is_the_servers_retry_after_within_bounds(
    details: dict[str, object], wait: float
) -> None:
    refused = Rejected(ErrorCode.TOO_MANY_REQUESTS, "slow down", details, 429)
    assert _wait(refused) == wait
