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


def _old_answers(server: RunningServer, count: int) -> None:
    """``count`` answers stored a second past the retention."""
    stale = server.ctx.now() - idempotency.RETENTION_SECONDS - 1
    with server.ctx.storage.write() as db:
        for n in range(count):
            db.execute(
                "INSERT INTO idempotency (till, key, route, body_hash, status, answer, created_at)"
                " VALUES (1, ?, '/v1/register', 'x', 200, '{}', ?)",
                [f"old-{n}", stale],
            )


def test_old_answers_are_pruned_in_small_steps(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    now = server.ctx.now()
    _old_answers(server, OLD)
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


def test_postgresql_prunes_once_a_second_for_every_answer_stored_since(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    """SQLite prunes inside each write; PostgreSQL, whose prune is a round trip of its own,
    prunes at the first write of each second for all the answers stored since: fewer
    statements, the same rows in the end."""
    now = server.ctx.now()
    _old_answers(server, OLD * 2)
    clock.advance(1)  # the seeding's own writes were in the second before

    def pruned() -> int:
        return OLD * 2 - _count(server, "created_at < ?", now - idempotency.RETENTION_SECONDS)

    for n in range(3):  # three answers stored in one second
        client.register(f"+7916555{n:04d}", consent=True)
    postgres = server.ctx.storage.engine == "postgresql"
    assert pruned() == (1 if postgres else 3) * idempotency.PRUNE_PER_WRITE
    clock.advance(1)
    client.register("+79165559999", consent=True)
    # The next second's first write prunes for the two it skipped and for itself.
    assert pruned() == 4 * idempotency.PRUNE_PER_WRITE
