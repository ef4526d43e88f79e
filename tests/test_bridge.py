"""The cash register's bridge, driven by the simulator's Register over real HTTP, against the
till's real services and database and the reference server on loopback; offline through the
unpluggable cable.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from terminal.bridge.runner import start_bridge
from terminal.bridge.simulator import Refused, Register, cart_line, generated_lines
from tests.support.bridge import Till, running_till
from tests.support.ui import ANNA, till_db


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    with running_till(tmp_path) as running:
        yield running


def discounts(state: dict[str, Any]) -> dict[int, Decimal]:
    return {line["line"]: Decimal(line["discount"]) for line in state["calculation"]["lines"]}


AWKWARD = [
    cart_line(1, "Milk", "33.33", "3"),
    cart_line(2, "Bread", "0.07"),
    cart_line(3, "Cheese", "417.19", "0.455", "189.82"),
    cart_line(4, "Cigarettes", "199.99", payable_with_points=False),
    cart_line(5, "Vodka", "649.00", discountable=False),
    cart_line(6, "Apples", "101.01", "7"),
]
"""Thirds, a seven-kopeck line, a weighed line and two lines points may not pay for."""


def test_per_line_discounts_sum_exactly_to_the_points_spent(till: Till) -> None:
    with till.register() as pos:
        pos.put_cart("R-1", AWKWARD, identifier=ANNA, cashier="Ivanova")
        for wish in (Decimal("1"), Decimal("13.37"), Decimal("250"), None):
            state = pos.spend("R-1", wish)
            calc = state["calculation"]
            spend = Decimal(calc["spend"])
            assert spend > 0
            assert sum(discounts(state).values(), Decimal(0)) == spend
            assert discounts(state)[4] == 0 and discounts(state)[5] == 0
            for line in calc["lines"]:
                assert Decimal(line["to_pay"]) == Decimal(line["amount"]) - Decimal(
                    line["discount"]
                )
                assert Decimal(line["discount"]) <= Decimal(line["amount"])
        before = till.available()
        done = pos.finish("R-1", "FN-1", width=32)["finish"]
    assert Decimal(done["spent"]) == spend
    assert done["confirmed"] is True
    assert all(len(text) <= 32 for text in done["bonus_lines"])
    assert any("Spent" in text for text in done["bonus_lines"])
    check_id = till.check_id("R-1")
    status, earn, spent = till.server_checks(check_id)[0]
    assert status == "confirmed"
    assert Decimal(spent) / 100 == spend
    assert Decimal(earn) / 100 == Decimal(done["earned"])
    assert till.available() == before - spend


def test_a_thirty_line_cart_is_calculated_discounted_finished_and_refunded(till: Till) -> None:
    lines = generated_lines(30)
    with till.register() as pos:
        state = pos.put_cart("R-30", lines, identifier=ANNA)
        assert state["member"]["phone_masked"].endswith("67")
        assert "1234" not in state["member"]["phone_masked"]
        state = pos.spend("R-30", Decimal("300"))
        by_line = discounts(state)
        assert sum(by_line.values(), Decimal(0)) == Decimal("300")
        earned_by_line = {
            line["line"]: Decimal(line["earn"]) for line in state["calculation"]["lines"]
        }
        done = pos.finish("R-30", "FN-30")["finish"]
        assert Decimal(done["spent"]) == Decimal("300")
        before = till.available()
        refund = pos.refund("RF-30", "R-30", {3: Decimal("1"), 7: Decimal("1")})["refund"]
    # Whole lines back: exactly the points those lines took and earned come back.
    assert Decimal(refund["points_given_back"]) == by_line[3] + by_line[7]
    assert Decimal(refund["points_taken_back"]) == earned_by_line[3] + earned_by_line[7]
    assert refund["queued"] is False
    check_id = till.check_id("R-30")
    assert till.server_returns(check_id) == [
        (
            int(Decimal(refund["points_taken_back"]) * 100),
            int(Decimal(refund["points_given_back"]) * 100),
        )
    ]
    # Earned points are still frozen, so only the spent points move the spendable balance.
    assert till.available() == before + by_line[3] + by_line[7]


def test_a_cart_changed_after_calculation_is_recalculated(till: Till) -> None:
    with till.register() as pos:
        first = pos.put_cart("R-2", AWKWARD[:2], identifier=ANNA)
        pos.spend("R-2", None)
        bigger = pos.put_cart("R-2", AWKWARD)
        smaller = pos.put_cart("R-2", AWKWARD[:1])
    assert Decimal(first["calculation"]["total"]) == Decimal("100.06")
    assert Decimal(bigger["calculation"]["total"]) > Decimal(first["calculation"]["total"])
    assert [line["line"] for line in bigger["calculation"]["lines"]] == [1, 2, 3, 4, 5, 6]
    # The register asked for the most: it follows the new cart, and stays exact.
    assert Decimal(bigger["calculation"]["spend"]) > 0
    assert sum(discounts(bigger).values(), Decimal(0)) == Decimal(bigger["calculation"]["spend"])
    assert Decimal(smaller["calculation"]["total"]) == Decimal("99.99")
    assert Decimal(smaller["calculation"]["spend"]) <= Decimal("99.99")
    assert list(discounts(smaller)) == [1]


def test_a_retried_call_gets_the_same_answer_and_applies_once(till: Till) -> None:
    with till.register() as pos:
        pos.put_cart("R-3", AWKWARD, identifier=ANNA, call_id="cart-1")
        pos.spend("R-3", Decimal("50"), call_id="spend-1")
        before = till.available()
        first = pos.http.post(
            "/v1/receipts/R-3/finish",
            json={"fiscal_number": "FN-3"},
            headers={"X-Call-Id": "finish-1"},
        )
        again = pos.http.post(
            "/v1/receipts/R-3/finish",
            json={"fiscal_number": "FN-3"},
            headers={"X-Call-Id": "finish-1"},
        )
        other_body = pos.http.post(
            "/v1/receipts/R-3/finish",
            json={"fiscal_number": "FN-OTHER"},
            headers={"X-Call-Id": "finish-1"},
        )
        # A repeated cart after finishing, with its first call id: the first answer again.
        cart_again = pos.put_cart("R-3", AWKWARD, identifier=ANNA, call_id="cart-1")
    assert first.status_code == 200
    assert again.status_code == 200 and again.content == first.content
    assert other_body.status_code == 409
    assert other_body.json()["code"] == "call_id_reused"
    assert cart_again["status"] == "open"
    assert till.available() == before - Decimal("50")
    assert len(till.server_checks(till.check_id("R-3"))) == 1


def test_a_second_register_is_refused_while_the_first_has_a_receipt_open(till: Till) -> None:
    with till.register("POS-1") as first, till.register("POS-2") as second:
        first.put_cart("R-4", AWKWARD[:2])
        with pytest.raises(Refused) as refused:
            second.put_cart("R-5", AWKWARD[:2])
        assert refused.value.status == 409
        assert refused.value.code == "register_busy"
        assert "Another cash register" in refused.value.message
        with pytest.raises(Refused):
            second.cancel("R-4")
        first.cancel("R-4")
        assert second.put_cart("R-5", AWKWARD[:2])["register_id"] == "POS-2"


def test_offline_the_bridge_answers_from_the_cache_and_the_sale_syncs_once(till: Till) -> None:
    before = till.available()
    till.cable.unplug()
    with till.register() as pos:
        state = pos.put_cart("R-6", AWKWARD, identifier=ANNA)
        assert state["member"]["online"] is False
        assert state["calculation"]["online"] is False
        assert Decimal(state["calculation"]["earn"]) > 0
        done = pos.finish("R-6", "FN-6")["finish"]
    assert done["offline"] is True and done["confirmed"] is False
    assert Decimal(done["spent"]) == 0
    check_id = till.check_id("R-6")
    assert till.server_checks(check_id) == []
    till.cable.plug()
    till.drain()
    till.drain()
    applied = till.server_checks(check_id)
    assert len(applied) == 1
    assert applied[0][0] == "applied_offline"
    assert till.available() == before  # the earn is frozen; nothing was spent


def test_a_spend_the_till_cannot_settle_offline_is_refused_not_taken(till: Till) -> None:
    with till.register() as pos:
        pos.put_cart("R-7", AWKWARD, identifier=ANNA)
        assert Decimal(pos.spend("R-7", Decimal("40"))["calculation"]["spend"]) == 40
        till.cable.unplug()
        with pytest.raises(Refused) as refused:
            pos.finish("R-7", "FN-7", call_id="finish-7")
        assert refused.value.code == "spend_changed"
        state = pos.state("R-7")
        assert state["status"] == "open"
        assert Decimal(state["calculation"]["spend"]) == 0
        assert not state["calculation"]["online"]
        # A register that lost that answer and retries the same call is refused again: its
        # fiscal receipt would carry a discount nobody paid for.
        with pytest.raises(Refused) as again:
            pos.finish("R-7", "FN-7", call_id="finish-7")
        assert again.value.code == "spend_changed"
        # Without the discount (a new call) the register can finish offline.
        assert pos.finish("R-7", "FN-7b")["finish"]["offline"] is True


def test_a_bad_cart_is_one_sentence_and_the_openapi_is_served(till: Till) -> None:
    with till.register() as pos:
        bad = pos.http.put("/v1/receipts/R-8/cart", json={"lines": [{"line": 1, "price": 1.5}]})
        unknown = pos.http.get("/v1/receipts/nope")
        schema = pos.http.get("/openapi.json").json()
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_request"
    assert "\n" not in bad.json()["message"]
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_receipt"
    assert "/v1/receipts/{receipt_id}/cart" in schema["paths"]
    assert "/v1/receipts/{receipt_id}/refund" in schema["paths"]


def test_a_bridge_with_a_key_refuses_calls_without_it(tmp_path: Path) -> None:
    with running_till(tmp_path, key="s3cret") as till:
        with till.register() as anonymous, pytest.raises(Refused) as refused:
            anonymous.put_cart("R-9", AWKWARD[:1])
        assert refused.value.status == 401
        with till.register(key="s3cret") as pos:
            assert pos.put_cart("R-9", AWKWARD[:1])["status"] == "open"
        assert httpx.get(f"{till.bridge.url}/openapi.json").status_code == 200


def test_till_bridge_simulate_plays_a_register_end_to_end(till: Till) -> None:
    from click.testing import CliRunner

    from terminal.cli import main

    before = till.available()
    result = CliRunner().invoke(
        main,
        [
            "bridge",
            "simulate",
            "--url",
            till.bridge.url,
            "--key",
            "",
            "--receipt",
            "SIM-1",
            "--generate",
            "30",
            "--identify",
            ANNA,
            "--spend",
            "120",
            "--refund",
            "2:1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "earned" in result.output and "spent 120.00" in result.output
    assert "refund of SIM-1" in result.output
    status, _earn, spent = till.server_checks(till.check_id("SIM-1"))[0]
    assert (status, spent) == ("confirmed", 12000)
    given_back = till.server_returns(till.check_id("SIM-1"))[0][1]
    assert till.available() == before - Decimal("120") + Decimal(given_back) / 100


def test_a_receipt_without_a_customer_gets_a_claim_code_to_print(till: Till) -> None:
    with till.register() as pos:
        state = pos.put_cart("R-10", AWKWARD)
        assert state["member"] is None and state["calculation"] is None
        done = pos.finish("R-10", "FN-10", width=42)["finish"]
    code = done["claim_code"]
    assert code is not None and len(code) == 19 and code.startswith("98")
    assert " ".join(code[i : i + 4] for i in range(0, 19, 4)) in "\n".join(done["bonus_lines"])
    assert all(len(text) <= 42 for text in done["bonus_lines"])
    assert done["confirmed"] is True and Decimal(done["spent"]) == 0
    with till.server.ctx.storage.read() as db:
        rows = db.execute("SELECT check_id FROM claims WHERE code = ?", [code]).fetchall()
    assert [str(r[0]) for r in rows] == [till.check_id("R-10")]


def test_with_claims_off_a_receipt_without_a_customer_finishes_bare(tmp_path: Path) -> None:
    with running_till(tmp_path, till={"claims": False}) as till, till.register() as pos:
        pos.put_cart("R-11", AWKWARD[:1])
        done = pos.finish("R-11", "FN-11")["finish"]
    assert done["claim_code"] is None and done["bonus_lines"] == []


def test_after_a_restart_a_refund_still_finds_the_registers_line_numbers(till: Till) -> None:
    numbered = [dict(line, line=(i + 1) * 10) for i, line in enumerate(generated_lines(4))]
    with till.register() as pos:
        pos.put_cart("R-12", numbered, identifier=ANNA)
        by_line = discounts(pos.spend("R-12", Decimal("100")))
        pos.finish("R-12", "FN-12")
    till.bridge.stop()
    restarted = start_bridge(till.services)  # a new bridge: nothing of R-12 in memory
    try:
        with Register(restarted.url, "POS-1") as pos:
            refund = pos.refund("RF-12", "R-12", {20: Decimal("1")})["refund"]
            with pytest.raises(Refused) as unknown:
                pos.refund("RF-13", "R-12", {2: Decimal("1")})
    finally:
        restarted.stop()
    assert Decimal(refund["points_given_back"]) == by_line[20]
    assert unknown.value.code == "unknown_line"


def test_simulate_refunds_an_earlier_receipt_and_says_a_refusal_in_one_line(till: Till) -> None:
    from click.testing import CliRunner

    from terminal.cli import main

    base = ["bridge", "simulate", "--url", till.bridge.url, "--key", ""]
    runner = CliRunner()
    sold = runner.invoke(main, [*base, "--receipt", "S-2", "--item", "Milk:89.90:2"])
    assert sold.exit_code == 0, sold.output
    assert "claim code 98" in sold.output
    refunded = runner.invoke(
        main, [*base, "--receipt", "S-2-back", "--original", "S-2", "--refund", "1:1"]
    )
    assert refunded.exit_code == 0, refunded.output
    assert "refund of S-2" in refunded.output
    wrong = runner.invoke(main, [*base, "--original", "S-2", "--refund", "7:1"])
    assert wrong.exit_code == 1
    assert wrong.output.strip().splitlines() == [
        "refused (422) unknown_line: Line 7 is not on the original receipt."
    ]


def test_print_true_queues_the_tills_own_receipt_and_false_queues_nothing(till: Till) -> None:
    with till.register() as pos:
        pos.put_cart("R-14", AWKWARD[:2], identifier=ANNA)
        printed = pos.finish("R-14", "FN-14", print_receipt=True)["finish"]
        pos.put_cart("R-15", AWKWARD[:2], identifier=ANNA)
        silent = pos.finish("R-15", "FN-15")["finish"]
    assert printed["print_job"] is not None and silent["print_job"] is None
    with till_db(till.services.settings) as db:
        jobs = db.execute("SELECT check_id FROM print_jobs").fetchall()
    assert [str(row[0]) for row in jobs] == [till.check_id("R-14")]


def test_a_partial_refund_gives_back_exactly_the_discount_the_register_applied(
    till: Till,
) -> None:
    # Lines 4 and 5 are not payable with points: the server itself gives them no share of the
    # spend, so the register's discounts are the server's split, line by line.
    with till.register() as pos:
        pos.put_cart("R-NP", AWKWARD, identifier=ANNA)
        by_line = discounts(pos.spend("R-NP", Decimal("250")))
        assert by_line[4] == 0 and by_line[5] == 0
        pos.finish("R-NP", "FN-NP")
        check_id = till.check_id("R-NP")
        refund = pos.refund("RF-NP", "R-NP", {1: Decimal("3")})["refund"]
        assert Decimal(refund["points_given_back"]) == by_line[1]
        assert till.server_returns(check_id) == [
            (int(Decimal(refund["points_taken_back"]) * 100), int(by_line[1] * 100))
        ]
        # The rest of the check, payable lines one by one: every point spent comes back once.
        for line in (2, 3, 6):
            quantity = {2: "1", 3: "0.455", 6: "7"}[line]
            back = pos.refund(f"RF-NP-{line}", "R-NP", {line: Decimal(quantity)})["refund"]
            assert Decimal(back["points_given_back"]) == by_line[line]
    with till.server.ctx.storage.read() as db:
        given = db.execute(
            "SELECT SUM(given_back) FROM returns WHERE check_id = ?", [check_id]
        ).fetchone()[0]
    assert given == 25000
