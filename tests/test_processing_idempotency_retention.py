"""The idempotency table does not grow for ever: answers older than the retention are pruned,
a few at a time by the writes that come in, and newer ones are kept and replayed."""

from __future__ import annotations

from processing.client import ProcessingClient
from processing.server import idempotency
from processing.server.testing import ManualClock, RunningServer

OLD = 10


def _count(server: RunningServer, where: str, *args: object) -> int:
    with server.ctx.storage.read() as db:
        return int(
            db.execute(f"SELECT COUNT(*) FROM idempotency WHERE {where}", args).fetchone()[0]
        )


def test_old_answers_are_pruned_in_small_steps(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    now = server.ctx.now()
    stale = now - idempotency.RETENTION_SECONDS - 1
    with server.ctx.storage.write() as db:
        for n in range(OLD):
            db.execute(
                "INSERT INTO idempotency (till, key, route, body_hash, status, answer, created_at)"
                " VALUES (1, ?, '/v1/register', 'x', 200, '{}', ?)",
                [f"old-{n}", stale],
            )
    first = client.register("+79165550101", consent=True, idempotency_key="kept-1")
    # One write prunes a bounded number of old answers, never all of a large backlog at once.
    left = _count(server, "created_at < ?", now - idempotency.RETENTION_SECONDS)
    assert left == OLD - idempotency.PRUNE_PER_WRITE
    for n in range(OLD):
        clock.advance(61)
        client.register(f"+7916555{n:04d}", consent=True)
    assert _count(server, "created_at < ?", now - idempotency.RETENTION_SECONDS) == 0
    # A fresh answer is kept and replayed as it was.
    again = client.register("+79165550101", consent=True, idempotency_key="kept-1")
    assert again.code_id == first.code_id
