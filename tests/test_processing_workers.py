"""Several server processes on one database (``serve --workers N``): writes stay serialised
across processes, idempotent replays answer the same from any process."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from processing import wire
from processing.amounts import from_minor
from processing.client import ClientSettings, ProcessingClient
from processing.server import auth, hold_calculation, holds, ledger, seed
from processing.server.auth import TillIdentity
from processing.server.context import ServerContext
from processing.server.problems import ApiError
from processing.server.storage import Storage
from processing.server.testing import server_process
from tests.support.races import confirm_at_once, one_hold_wins

MILK = "4600070000014"
ROUNDS = 12


def _request(member: str, spend: Decimal, check_id: str) -> wire.CheckRequest:
    line = wire.Line(
        barcode=MILK, name="milk", price=Decimal("5000"), quantity=Decimal(1), amount=Decimal(5000)
    )
    return wire.CheckRequest(
        check_id=check_id, member_id=member, lines=[line], requested_spend=spend
    )


def _spender(db_path: str, till: int, plan: list[tuple[str, int]], gate: Any, out: Any) -> None:
    """One process: for each (member, points) hold the member's whole balance at the moment
    the other process tries the same, through the group-commit writer."""
    storage = Storage(db_path, synchronous="NORMAL")
    storage.start_committer()
    ctx = ServerContext(storage=storage)
    caller = TillIdentity(till, "S1", f"T{till}")
    outcomes: list[str] = []
    for member, points in plan:
        req = _request(member, from_minor(points), f"p{till}-{member}")
        with storage.read() as db:
            calc = hold_calculation.calculate(db, ctx.program(db), req, ctx.now())
        hold = wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint())
        gate.wait(timeout=30)
        future = storage.submit(
            lambda db, h=hold: holds.hold(db, ctx.program(db), h, ctx.now(), caller, 600)
        )
        try:
            future.result(timeout=30)
            outcomes.append("held")
        except ApiError as error:
            outcomes.append(str(error.code))
    storage.close()
    out.put(outcomes)


def test_two_processes_spending_one_balance_cannot_both_succeed(tmp_path: Path) -> None:
    db_path = tmp_path / "p.db"
    storage = Storage(db_path, synchronous="NORMAL")
    now = int(time.time())
    with storage.write() as db:
        seed.seed_demo(db, now, generated=200)
        rows = db.execute(
            "SELECT id FROM members WHERE state = 'active' AND phone LIKE '+7900%' ORDER BY id"
        ).fetchall()
        balances = [(str(r[0]), ledger.available(db, str(r[0]), now)) for r in rows]
        # Whole balances below the program's SMS-code threshold (500 points).
        plan = [(m, points) for m, points in balances if 0 < points < 500_00][:ROUNDS]
    storage.close()
    assert len(plan) == ROUNDS and all(points > 0 for _, points in plan)
    spawn = multiprocessing.get_context("spawn")
    gate = spawn.Barrier(2)
    out = spawn.Queue()
    procs = [
        spawn.Process(target=_spender, args=(str(db_path), n, plan, gate, out)) for n in (1, 2)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    for i, (member, _points) in enumerate(plan):
        pair = sorted(r[i] for r in results)
        assert pair[0] == "held" and pair[1] in {"insufficient_points", "stale_calculation"}, (
            member,
            pair,
        )
    storage = Storage(db_path)
    with storage.read() as db:
        assert ledger.audit(db) == []
        for member, points in plan:
            assert ledger.held(db, member, now) == points
            assert ledger.available(db, member, now) == 0
    storage.close()


def test_workers_serialise_spends_and_replay_the_same_answer(tmp_path: Path) -> None:
    db_path = tmp_path / "w.db"
    storage = Storage(db_path)
    with storage.write() as db:
        seed.seed_demo(db, int(time.time()))
        keys = [auth.add_till(db, "S1", f"T{i}", int(time.time())) for i in range(8)]
    storage.close()
    settings = ClientSettings(attempts=1, read_timeout=10.0)
    with server_process(db_path, workers=2) as url:
        clients = [ProcessingClient(url, key, settings) for key in keys]
        try:
            # Eight tills (eight connections, spread over both processes) each try to spend
            # Taras's 400 points at once: exactly one hold wins.
            winner, won = one_hold_wins(
                clients, lambda: _request("100009", Decimal(300), str(uuid.uuid4())), timeout=20
            )
            check_id = won.check_id
            # The winner replays its confirm over 8 fresh connections at once (spread over
            # both processes): one effect, the very same answer every time.
            answers = confirm_at_once([url], check_id, keys[winner], times=8)
            assert len(answers) == 8 and len(set(answers)) == 1, answers
            assert wire.CheckResult.model_validate_json(answers[0]).spent == Decimal("300.00")
        finally:
            for c in clients:
                c.close()
    storage = Storage(db_path)
    with storage.read() as db:
        assert ledger.audit(db) == []
        spent = db.execute(
            "SELECT COUNT(*), SUM(points) FROM movements WHERE kind = 'spend' AND check_id = ?",
            [check_id],
        ).fetchone()
        assert spent[0] >= 1 and spent[1] == -300_00
        assert ledger.available(db, "100009", int(time.time())) == 100_00
    storage.close()
