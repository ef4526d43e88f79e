"""Serialised writes: group commit under the write lock (:mod:`write_lock`).

Group commit (:class:`GroupCommit`): writes queued while a transaction is in progress are
applied together in the next one, each inside its own SAVEPOINT, with one COMMIT (one fsync)
for the group — on a committer thread (:meth:`GroupCommit.submit`) or on the event loop's own
thread (:meth:`GroupCommit.run`). :class:`~processing.server.storage.Storage` owns one of each.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlite_utils import Database

from processing.server.engine import collecting_commit_actions, run_commit_actions
from processing.server.write_lock import WriteLock

T = TypeVar("T")

GROUP_MAX = 64
"""At most this many queued writes share one transaction (one fsync)."""

_INLINE_TRIES = 3
"""Times :meth:`GroupCommit.run` finds the write lock taken again after waiting for it to be
free, before its group is run on a thread that holds on to the lock once it has it."""


@dataclass
class _Job:
    fn: Callable[[Database], Any]
    future: Future[Any] = field(default_factory=Future)
    actions: list[Callable[[], None]] = field(default_factory=list)
    """Its :func:`~processing.server.engine.after_commit` actions (of its last run)."""


class GroupCommit:
    """Writes queued and applied in groups, one transaction (one COMMIT) per group.

    ``thread_db`` gives the calling thread's connection (the committer thread's own);
    ``connect`` opens a new one (the event-loop writer's)."""

    def __init__(
        self, lock: WriteLock, thread_db: Callable[[], Database], connect: Callable[[], Database]
    ) -> None:
        self._lock = lock
        self._thread_db = thread_db
        self._connect = connect
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._committer: threading.Thread | None = None
        self._committer_lock = threading.Lock()
        self._pending: list[_Job] = []
        self._drainer: asyncio.Task[None] | None = None
        self._inline: Database | None = None
        self._inline_thread: int | None = None
        self._inline_busy = False
        """A group of the event-loop writer is between its first statement and the end of its
        COMMIT (which may be running on the locker thread)."""
        self._locker = ThreadPoolExecutor(1, thread_name_prefix="storage-locker")
        self.others_waiting: Callable[[int], bool] = lambda _group: True
        """Whether the event loop has requests to serve besides the ``group`` writes a COMMIT
        is for (set by the server, :func:`processing.server.app.create_app`); until set, a
        COMMIT always goes to the locker thread."""

    def submit(self, fn: Callable[[Database], T]) -> Future[T]:
        """Run ``fn(db)`` in a write transaction on the committer thread (group commit).

        Writes queued while a transaction is in progress are applied together in the next one,
        each inside its own SAVEPOINT, with one COMMIT (one fsync) for the group. The future
        resolves only after that COMMIT has returned, so no caller hears of a write that is not
        durable. A write that raises is rolled back to its savepoint alone and its future gets
        the exception; the others in the group are unaffected. Every write runs serially
        against what the ones before it wrote, exactly as with one transaction each.
        """
        job: _Job = _Job(fn)
        self.start_committer()
        self._jobs.put(job)
        return job.future

    def start_committer(self) -> None:
        """Start the committer thread with its connection open (idempotent; :meth:`submit`
        starts it too, a server starts it before it listens)."""
        if self._committer is not None:
            return
        with self._committer_lock:
            if self._committer is None:
                opened = threading.Event()
                self._committer = threading.Thread(
                    target=self._commit_loop, args=(opened,), name="storage-committer", daemon=True
                )
                self._committer.start()
                opened.wait(timeout=30)

    def _commit_loop(self, opened: threading.Event) -> None:
        try:
            self._thread_db()
        finally:
            opened.set()
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < GROUP_MAX:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._run_group(group, self._apply)
            if stop:
                return

    def _run_group(
        self, group: list[_Job], apply: Callable[[list[_Job]], list[tuple[_Job, bool, Any]]]
    ) -> None:
        try:
            outcomes = apply(group)
        except BaseException as exc:
            self._failed(group, exc, apply)
            return
        self._answer(outcomes)

    def _failed(
        self,
        group: list[_Job],
        exc: BaseException,
        apply: Callable[[list[_Job]], list[tuple[_Job, bool, Any]]],
    ) -> None:
        if len(group) > 1:
            # The transaction itself failed (e.g. a write left it unusable, or COMMIT did):
            # nothing of the group is stored and nobody has been answered; isolate the
            # culprit by running each write alone.
            for job in group:
                self._run_group([job], apply)
            return
        group[0].future.set_exception(exc)

    @staticmethod
    def _answer(outcomes: list[tuple[_Job, bool, Any]]) -> None:
        """Answer the jobs of a committed group (and do what waited for the COMMIT)."""
        for job, ok, value in outcomes:
            if ok:
                run_commit_actions(job.actions)
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

    def _apply(self, group: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        with self._lock.held():
            return self._transact(self._thread_db(), group)

    @staticmethod
    def _transact(
        db: Database, group: list[_Job], *, commit: bool = True
    ) -> list[tuple[_Job, bool, Any]]:
        """One BEGIN IMMEDIATE … COMMIT around ``group``, a SAVEPOINT per job (call with the
        write locks held). ``commit`` False: the transaction is left open for the caller to
        commit (or roll back)."""
        outcomes: list[tuple[_Job, bool, Any]] = []
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in group:
                # Pending the first time; already running when a failed group is re-run.
                if not job.future.running() and not job.future.set_running_or_notify_cancel():
                    continue  # the caller went away before its write started
                conn.execute("SAVEPOINT job")
                try:
                    with collecting_commit_actions() as job.actions:
                        value = job.fn(db)
                except Exception as exc:
                    job.actions = []  # rolled back: nothing of it is to be done
                    if not conn.in_transaction:
                        raise  # SQLite rolled the whole transaction back
                    conn.execute("ROLLBACK TO SAVEPOINT job")
                    conn.execute("RELEASE SAVEPOINT job")
                    outcomes.append((job, False, exc))
                else:
                    conn.execute("RELEASE SAVEPOINT job")
                    outcomes.append((job, True, value))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if commit:
            conn.execute("COMMIT")
        return outcomes

    async def run(self, fn: Callable[[Database], T]) -> T:
        """Run ``fn(db)`` in a write transaction on the calling event loop's own thread, shared
        with the writes queued on this loop meanwhile (group commit, as :meth:`submit`).

        Why not the committer thread: a transaction issues a few dozen SQLite calls, and each
        gives up the GIL and must win it back from the event loop thread, which holds it for a
        whole request step at a time (up to the 5 ms switch interval). Measured under
        server_throughput: groups held the cross-process lock for 20-30 ms of which a few
        were SQLite's. Run here, the transaction never waits for the GIL; only waiting for
        the lock held by another process is done off the loop (a thread blocked in flock),
        and so is the group's COMMIT, which waits for the fsync, whenever other requests are
        in flight (:meth:`_run_inline`).
        """
        job: _Job = _Job(fn)
        self._pending.append(job)
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await asyncio.wrap_future(job.future)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            misses = 0
            while self._pending:
                if not self._lock.try_acquire():
                    if misses >= _INLINE_TRIES:
                        # Another process keeps winning the lock: queue for it in a thread
                        # and run the group there (slower, but sure to make progress).
                        group = self._take()
                        await loop.run_in_executor(
                            self._locker, self._run_group, group, self._apply
                        )
                        misses = 0
                        continue
                    # Wait off the loop until the lock is free, then try again from here: the
                    # lock is never held while this busy loop gets round to the wake-up (tens
                    # of milliseconds under load), which the other process would wait out.
                    await loop.run_in_executor(self._locker, self._await_free)
                    misses += 1
                    continue
                misses = 0
                try:
                    await self._run_inline(self._take(), loop)
                finally:
                    self._lock.release()
        finally:
            self._drainer = None

    def _take(self) -> list[_Job]:
        group = self._pending[:GROUP_MAX]
        del self._pending[:GROUP_MAX]
        return group

    def _await_free(self) -> None:
        """Block until this process could take the write lock (then leave it free)."""
        self._lock.acquire()
        self._lock.release()

    async def _run_inline(self, group: list[_Job], loop: asyncio.AbstractEventLoop) -> None:
        """Apply ``group`` on this thread, then COMMIT on the locker thread: the statements
        are quick and need the GIL, the COMMIT waits for the fsync and does not, so the loop
        serves meanwhile (the writes queued in that time make the next group). Call with the
        write lock held; it is held until the COMMIT has returned, and only then is anyone
        answered."""
        self._inline_busy = True
        try:
            await self._apply_inline(group, loop)
        finally:
            self._inline_busy = False

    def idle_inline(self) -> Database | None:
        """The event-loop writer's connection when called on its thread while none of its
        writes is in progress (else None): for a read snapshot that finds the pages this
        process last read or wrote still in the connection's cache. SQLite empties a
        connection's cache whenever another connection has written since its last
        transaction, so a read on a connection of its own started cold after every write."""
        inline = self._inline
        if (
            inline is None
            or self._inline_busy
            or self._inline_thread != threading.get_ident()
            or inline.conn.in_transaction
        ):
            return None
        return inline

    async def _apply_inline(self, group: list[_Job], loop: asyncio.AbstractEventLoop) -> None:
        db = self._inline_db()
        try:
            outcomes = self._transact(db, group, commit=False)
        except BaseException as exc:  # rolled back already
            self._failed(group, exc, self._transact_inline)
            return
        if not self.others_waiting(len(group)):
            # Nobody else is waiting for the loop: its fsync can hold the loop without making
            # anyone wait (a request arriving meanwhile waits one fsync, ~0.4 ms here), and
            # the hand-off to the locker thread and back costs more CPU than the write itself
            # (~0.3 ms a write, measured in-process: wake-ups and the GIL changing hands).
            committed: Future[Any] = Future()
            try:
                db.conn.execute("COMMIT")
            except Exception as exc:
                committed.set_exception(exc)
            else:
                committed.set_result(None)
            self._settle(db, group, outcomes, committed)
            return
        done = self._locker.submit(db.conn.execute, "COMMIT")
        try:
            await asyncio.wrap_future(done, loop=loop)
        except asyncio.CancelledError:
            # Shutting down: the COMMIT still ends before the lock is let go.
            wait([done])
            self._settle(db, group, outcomes, done)
            raise
        except Exception:
            pass  # settled below
        self._settle(db, group, outcomes, done)

    def _settle(
        self,
        db: Database,
        group: list[_Job],
        outcomes: list[tuple[_Job, bool, Any]],
        done: Future[Any],
    ) -> None:
        """Answer the group once its COMMIT ended; a COMMIT that failed stored nothing: the
        group is rolled back and each write is run alone (COMMIT on the loop: rare)."""
        error = done.exception()
        if error is not None:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            self._failed(group, error, self._transact_inline)
            return
        self._answer(outcomes)

    def _transact_inline(self, group: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        return self._transact(self._inline_db(), group)

    def _inline_db(self) -> Database:
        """The connection of the event-loop writer (its own; opened on first use)."""
        if self._inline is None:
            self._inline = self._connect()
            self._inline_thread = threading.get_ident()
        return self._inline

    def close(self) -> None:
        """Stop the committer (after the writes already queued) and the locker thread; the
        connections themselves are closed by their owner."""
        with self._committer_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            self._jobs.put(None)
            committer.join(timeout=30)
        self._inline = None
        self._inline_thread = None
        self._locker.shutdown(wait=False)
