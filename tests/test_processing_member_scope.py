"""The member-cache delta against the real server: a till gets its own store's members (home
store, or a check made there), never the whole chain; the cursor moves on in bounded steps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.server import snapshots
from processing.server.testing import ManualClock, RunningServer, running_server


def _all(client: ProcessingClient, limit: int = 1000) -> tuple[set[str], int]:
    """Every member the delta gives from the start, and how many calls it took."""
    seen: set[str] = set()
    cursor, calls = "", 0
    while True:
        delta = client.members_delta(cursor, limit)
        calls += 1
        seen |= {m.id for m in delta.items}
        cursor = delta.cursor
        if not delta.has_more:
            return seen, calls


def test_another_stores_till_gets_only_members_who_shop_there(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    home, _ = _all(client)
    assert len(home) == 10 and "100001" in home  # the demo members' home store is S1
    key = server.add_till("S2", "T1")
    with ProcessingClient(server.url, key, ClientSettings(attempts=1)) as other:
        assert _all(other)[0] == set()
        # Anna buys at S2 (offline, replayed): from then on S2's tills carry her.
        line = wire.Line(
            name="Хлеб", category="bakery", price=Decimal("10.00"), quantity=Decimal("1"),
            amount=Decimal("10.00"),
        )  # fmt: skip
        check = wire.OfflineCheck(
            check_id=str(uuid.uuid4()), member_id="100001", lines=[line],
            made_at=datetime.now(UTC),
        )  # fmt: skip
        other.replay_offline(check, idempotency_key=str(uuid.uuid4()))
        assert _all(other)[0] == {"100001"}
        # A customer registered at S2 is S2's too (and not S1's news).
        sent = other.register("+79165550101", consent=True)
        joined = other.confirm_registration(sent.code_id, server.latest_code("+79165550101"))
        assert _all(other)[0] == {"100001", joined.member.id}
    assert joined.member.id not in _all(client)[0]


def test_the_cursor_moves_past_other_stores_members_in_bounded_steps(tmp_path: Path) -> None:
    with running_server(tmp_path / "p.db", members=3000, synchronous="NORMAL") as server:
        key = server.add_till("S2", "T1")
        with ProcessingClient(server.url, key, ClientSettings(attempts=1)) as other:
            seen, calls = _all(other, limit=100)
            assert seen == set()
            # Each call looks at a bounded number of members, however few of them match.
            assert calls >= 3010 // snapshots.SCAN_PER_CALL
