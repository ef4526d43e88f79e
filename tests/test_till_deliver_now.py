"""One "deliver now" path: the services send what they committed only through the sync engine.

A sale's confirmation, a released hold, a claim, a return and a registration are committed to
the outbox and then handed to :meth:`offline_cache.sync.SyncEngine.send_one`, which classifies
the answer exactly as the background drain does. The services never call the client's delivery
methods.

Deliveries (outbox kinds; forbidden in ``terminal/services``): ``confirm``, ``cancel``,
``replay_offline``, ``replay_batch``, ``return_check``, ``create_claim``. Not deliveries, and so
called directly: ``hold`` (a reservation the cashier waits for before anything is committed or
printed), ``register`` only to send a *new* code for a registration already delivered
(``resend_pending``), ``confirm_registration`` (the customer's code, checked on the spot), and
the reads.
"""

from __future__ import annotations

import ast
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from offline_cache.outbox import Outbox
from processing.errors import ErrorCode, Rejected
from terminal.sentences import rejected_sentence
from terminal.services import TillError
from terminal.services.members import Registration
from terminal.views import QUICK_AMOUNT, SaleDraft, SaleLine
from tests.support.services import till
from tests.support.ui import ANNA, server

SERVICES = Path(__file__).resolve().parent.parent / "terminal" / "services"

DELIVERIES = frozenset(
    {"confirm", "cancel", "replay_offline", "replay_batch", "return_check", "create_claim"}
)


def direct_deliveries(source: str, name: str) -> list[str]:
    """``name:line: client.method`` for every delivery method called on a ``client``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in DELIVERIES:
            continue
        owner = node.func.value
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if "client" in owner_name:
            found.append(f"{name}:{node.lineno}: {owner_name}.{node.func.attr}")
    return found


def test_the_services_deliver_nothing_to_the_client_themselves() -> None:
    found = [
        hit
        for path in sorted(SERVICES.glob("*.py"))
        for hit in direct_deliveries(path.read_text(encoding="utf-8"), path.name)
    ]
    assert found == []


def test_the_check_finds_a_direct_delivery() -> None:
    source = "def f(self):\n    return self.client.return_check(request, idempotency_key=k)\n"
    assert direct_deliveries(source, "members.py") == ["members.py:2: client.return_check"]
    assert direct_deliveries("self.client.hold(request, idempotency_key=k)\n", "x.py") == []


def test_a_refused_return_is_told_and_kept_for_the_admin(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        member = services.sales.identify(ANNA, scanned=False)
        line = SaleLine(QUICK_AMOUNT, Decimal("500.00"), Decimal(1), Decimal("500.00"))
        draft = SaleDraft(str(uuid.uuid4()), member, (line,))
        sold = services.sales.commit_sale(draft, services.sales.preview(draft))
        assert sold.confirmed
        with pytest.raises(TillError) as refused:
            services.members.return_lines(draft.check_id, {0: Decimal(2)})
        # The cashier reads the sentence the server's stored refusal maps to.
        expected = rejected_sentence(Rejected(ErrorCode.RETURN_EXCEEDS_CHECK, "any"))
        assert str(refused.value) == expected
        with services.store.database() as db:
            dead = Outbox(db).dead()
        assert [record.kind for record in dead] == ["return"]
        assert dead[0].dead_reason is not None
        assert dead[0].dead_reason.startswith(ErrorCode.RETURN_EXCEEDS_CHECK)
        # The register refunded the money anyway: the manager sees the points not taken back.
        conflicts = services.office.open_conflicts()
        assert [(c.record_id, c.kind) for c in conflicts] == [(dead[0].id, "refused")]


def test_a_sale_is_confirmed_on_the_store_connection(tmp_path: Path) -> None:
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        member = services.sales.identify(ANNA, scanned=False)
        line = SaleLine(QUICK_AMOUNT, Decimal("700.00"), Decimal(1), Decimal("700.00"))
        draft = SaleDraft(str(uuid.uuid4()), member, (line,))
        # A second connection could not be opened here: the engine must borrow the store's.
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("", encoding="utf-8")
        services.sync.engine.db_path = blocker / "till.db"
        sold = services.sales.commit_sale(draft, services.sales.preview(draft))
        assert sold.confirmed
        with services.store.database() as db:
            record = Outbox(db).get(draft.check_id)
        assert record.state == "acknowledged" and record.response is not None
        assert Decimal(record.response["balance_after"]) == sold.balance_after


def test_an_online_registration_is_a_record_the_engine_delivers(tmp_path: Path) -> None:
    phone = "+79990007788"
    with server(tmp_path) as srv, till(tmp_path, srv) as services:
        step = services.members.register_start(Registration(phone, consent=True, name="Ira"))
        assert not step.queued and step.code_id is not None
        with services.store.database() as db:
            assert Outbox(db).unsent_count() == 0  # delivered at once, not left to the sync
        # Until the customer reads out the code, the sync screen lists it as pending.
        (pending,) = services.members.pending_registrations()
        assert pending.code_id == step.code_id
        member = services.members.register_confirm(step.code_id, srv.latest_code(phone))
        assert member.member_id
        assert services.members.pending_registrations() == []
