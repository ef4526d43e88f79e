"""Print jobs: queued bytes survive, failures are counted and retried, reprints are new jobs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from offline_cache.db import open_database
from offline_cache.errors import NotFound
from offline_cache.print_jobs import PrintJobs


def test_job_lifecycle(tmp_path: Path) -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    jobs = PrintJobs(open_database(tmp_path / "t.db"), clock=lambda: moment)
    first = jobs.enqueue(b"\x1b@hello", "check-1", "sale")
    second = jobs.enqueue(b"\x1b@again", "check-1", "reprint")
    pending = jobs.next_pending()
    assert pending is not None and pending.id == first and pending.receipt == b"\x1b@hello"
    jobs.mark_failed(first, "paper out")
    jobs.mark_failed(first, "paper out")
    job = jobs.get(first)
    assert (job.state, job.attempts, job.last_error) == ("pending", 2, "paper out")
    assert job.created_at == moment
    jobs.mark_printed(first)
    done = jobs.get(first)
    assert done.state == "printed" and done.attempts == 3 and done.printed_at == moment
    nxt = jobs.next_pending()
    assert nxt is not None and nxt.id == second
    assert [j.id for j in jobs.recent(5)] == [second, first]
    with pytest.raises(NotFound):
        jobs.mark_printed(999)
    with pytest.raises(NotFound):
        jobs.get(999)


def test_a_worker_thread_with_its_own_connection_sees_jobs(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    jobs = PrintJobs(open_database(path))
    job_id = jobs.enqueue(b"abc", None, "test")
    printed = threading.Event()

    def worker() -> None:
        own = PrintJobs(open_database(path))
        job = own.next_pending()
        if job is not None and job.id == job_id:
            own.mark_printed(job.id)
            printed.set()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=10)
    assert printed.is_set()
    assert jobs.get(job_id).state == "printed"
    assert jobs.next_pending() is None
