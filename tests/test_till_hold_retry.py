"""A refused hold does not poison its check: the corrected hold goes through under a fresh key.

Real server on loopback, real till database, the services facade as the sale screen's workers
call it. The hold's Idempotency-Key is the check id plus the request's fingerprint, so the
corrected hold (a different body) is a new request, while the same body sent again is the same
key (a network retry the server answers from its store).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from processing import wire
from processing.server import ledger
from terminal.composition import build_services
from terminal.errors import TillError
from terminal.services import hold_key
from tests.faultproxy import Fault, FaultProxy
from tests.support.services import sale, till
from tests.support.ui import ANNA, server, till_settings


def test_a_stale_hold_is_retried_with_the_corrected_body(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        draft = sale(services, "300.00", "50")
        stale = services.sales.preview(draft)
        # Meanwhile the member spends elsewhere: the till's calculation is now stale.
        other = sale(services, "300.00", "20")
        services.sales.commit_sale(other, services.sales.preview(other))
        with pytest.raises(TillError):
            services.sales.commit_sale(draft, stale)
        # The cashier recalculates and commits the same check: no void, no re-entry.
        result = services.sales.commit_sale(draft, services.sales.preview(draft))
        assert result.confirmed and result.spent == Decimal(50)
        with srv.ctx.storage.read() as db:
            row = db.execute("SELECT status FROM checks WHERE id = ?", [draft.check_id]).fetchone()
        assert row is not None and row[0] == "confirmed"


def test_the_same_hold_body_keeps_its_key_and_another_body_does_not() -> None:
    line = wire.Line(price=Decimal(10), quantity=Decimal(1), amount=Decimal(10))

    def hold(fingerprint: str) -> wire.HoldRequest:
        return wire.HoldRequest(
            check_id="c-1", member_id="100001", lines=[line], fingerprint=fingerprint
        )

    first, again, corrected = hold("a"), hold("a"), hold("b")
    assert hold_key(first) == hold_key(again)
    assert hold_key(first) != hold_key(corrected)
    assert hold_key(first).startswith("c-1-hold-")


def test_a_wrong_code_then_the_right_one_confirms_the_same_check(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        draft = sale(services, "2000.00", "600")
        preview = services.sales.preview(draft)
        assert preview.code_required
        code_id = services.sales.request_spend_code(draft)
        right = srv.latest_code(ANNA)
        wrong = "0" * len(right) if right != "0" * len(right) else "1" * len(right)
        typo = replace(draft, spend_code_id=code_id, spend_code=wrong)
        with pytest.raises(TillError):
            services.sales.commit_sale(typo, services.sales.preview(typo))
        fixed = replace(draft, spend_code_id=code_id, spend_code=right)
        result = services.sales.commit_sale(fixed, services.sales.preview(fixed))
        assert result.confirmed and result.spent == Decimal(600)


def test_a_lost_hold_answer_then_a_recalculated_sale_is_applied_once(tmp_path: Path) -> None:
    # The hold reaches the server and is applied; its answer never comes back (a 500 from the
    # proxy after forwarding). The server is back, the cashier recalculates and commits.
    with (
        server(tmp_path) as srv,
        FaultProxy(("127.0.0.1", int(srv.url.rsplit(":", 1)[1]))) as proxy,
    ):
        services = build_services(till_settings(tmp_path, proxy.url, srv.api_key))
        try:
            services.office.start_shift("1")
            draft = sale(services, "1000.00", "200")
            preview = services.sales.preview(draft)
            proxy.set_fault(Fault.ERROR_500_AFTER_FORWARD)
            with pytest.raises(TillError):
                services.sales.commit_sale(draft, preview)
            assert proxy.count(Fault.ERROR_500_AFTER_FORWARD) >= 1
            proxy.heal()
            again = services.sales.preview(draft)
            assert again.online
            result = services.sales.commit_sale(draft, again)
            assert result.confirmed and result.spent == Decimal(200)
            with services.store.database() as till_db:
                kept = till_db.execute(
                    "SELECT count(*) FROM checks WHERE id = ?", [draft.check_id]
                ).fetchone()[0]
            assert kept == 1
        finally:
            services.close()
        with srv.ctx.storage.read() as db:
            rows = db.execute(
                "SELECT status, spend FROM checks WHERE id = ?", [draft.check_id]
            ).fetchall()
            assert [tuple(r) for r in rows] == [("confirmed", 200_00)]
            assert draft.member is not None
            member = draft.member.member_id
            assert ledger.available(db, member, srv.ctx.now()) == 1300_00
            assert ledger.audit(db) == []
