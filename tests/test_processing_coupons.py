"""Coupons against the real server: a coupon-gated promotion applies only to the coupon's owner,
once, online and in offline replay; coupons issued by the operator (a code each, or a shared
code with a use limit), enforced at confirm, cancelled, and given back by a full return."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from click.testing import CliRunner, Result

from loyalty.program import Promotion, PromotionKind
from processing import wire
from processing.client import ProcessingClient
from processing.errors import Rejected
from processing.server.cli import processing
from processing.server.context import HOLD_TTL_SECONDS, store_program
from processing.server.testing import RunningServer

BONUS = Decimal("100")


def _with_coupon_promotion(server: RunningServer, coupon: str = "WELCOME10") -> None:
    """A new program version: 100 bonus points on any check presenting ``coupon``."""
    today = datetime.now(UTC).date()
    with server.ctx.storage.write() as db:
        program = server.ctx.program(db)
        promo = Promotion(
            promo_id="welcome",
            name="Welcome",
            kind=PromotionKind.CHECK_BONUS,
            starts_on=today - timedelta(days=365),
            ends_on=today + timedelta(days=365),
            bonus_points=BONUS,
            coupon=coupon,
        )
        new = replace(program, version=program.version + 1, promotions=(*program.promotions, promo))
        store_program(db, new, server.ctx.now())


def _line() -> wire.Line:
    return wire.Line(
        name="Хлеб", category="bakery", price=Decimal("100.00"), quantity=Decimal("1"),
        amount=Decimal("100.00"),
    )  # fmt: skip


def _earn(client: ProcessingClient, member: str, coupons: list[str]) -> Decimal:
    request = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=member, lines=[_line()], coupons=coupons
    )
    return client.calculate(request).earn


def _held(client: ProcessingClient, member: str, coupons: list[str]) -> wire.CheckRequest:
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=member, lines=[_line()], coupons=coupons
    )
    calc = client.calculate(req)
    client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h-{req.check_id}",
    )
    return req


def _confirm(client: ProcessingClient, req: wire.CheckRequest) -> wire.CheckResult:
    return client.confirm(req.check_id, idempotency_key=f"c-{req.check_id}")


def _sale(client: ProcessingClient, member: str, coupons: list[str]) -> wire.CheckResult:
    return _confirm(client, _held(client, member, coupons))


def _offline(client: ProcessingClient, member: str, coupons: list[str]) -> wire.CheckResult:
    check = wire.OfflineCheck(
        check_id=str(uuid.uuid4()),
        member_id=member,
        lines=[_line()],
        made_at=datetime.now(UTC),
        coupons=coupons,
    )
    return client.replay_offline(check, idempotency_key=f"o-{check.check_id}")


def test_a_coupon_counts_for_its_owner_only(
    client: ProcessingClient, server: RunningServer
) -> None:
    _with_coupon_promotion(server)
    plain = _earn(client, "100002", [])
    # Ivan presents Anna's coupon: no bonus, online or offline.
    assert _earn(client, "100002", ["WELCOME10"]) == plain
    assert _offline(client, "100002", ["WELCOME10"]).earned == plain
    # Anna, its owner, gets the bonus.
    assert _earn(client, "100001", ["WELCOME10"]) - _earn(client, "100001", []) == BONUS


def test_a_coupon_is_used_once_online(client: ProcessingClient, server: RunningServer) -> None:
    _with_coupon_promotion(server)
    without = _earn(client, "100001", [])
    first = _sale(client, "100001", ["WELCOME10"])
    assert first.earned - without == BONUS
    assert _earn(client, "100001", ["WELCOME10"]) == without
    assert _sale(client, "100001", ["WELCOME10"]).earned == without
    assert _offline(client, "100001", ["WELCOME10"]).earned == without


def test_a_coupon_is_used_once_offline(client: ProcessingClient, server: RunningServer) -> None:
    _with_coupon_promotion(server)
    without = _earn(client, "100001", [])
    assert _offline(client, "100001", ["WELCOME10"]).earned - without == BONUS
    assert _offline(client, "100001", ["WELCOME10"]).earned == without
    assert _earn(client, "100001", ["WELCOME10"]) == without


def _run(server: RunningServer, *args: str) -> Result:
    return CliRunner().invoke(
        processing, [*args, "--db", server.ctx.storage.location], catch_exceptions=False
    )


def _issue(server: RunningServer, *args: str) -> Result:
    issued = _run(
        server, "coupons", "issue", "welcome", *args, "--to", "2099-12-31",
        "--reason", "spring", "--operator", "olga",
    )  # fmt: skip
    assert issued.exit_code == 0, issued.output
    return issued


def _codes(server: RunningServer) -> dict[str, str]:
    """Member id → the code issued to them (the seed's own coupons left out)."""
    with server.ctx.storage.read() as db:
        rows = db.execute(
            "SELECT member_id, code FROM coupons WHERE unlocks IS NOT NULL"
        ).fetchall()
    return {str(m): str(c) for m, c in rows}


def test_issued_codes_are_unique_and_count_for_their_owner_once(
    client: ProcessingClient, server: RunningServer
) -> None:
    _with_coupon_promotion(server, "SPRING5")
    first = _issue(server, "--member", "100001")
    assert "issued to 1 members (a code each; 0 held one already)" in first.output
    _issue(server, "--member", "100002")
    assert "0 held one already" not in _issue(server, "--member", "100002").output
    codes = _codes(server)
    anna, ivan = codes["100001"], codes["100002"]
    assert anna != ivan and anna != "SPRING5"
    anna_plain, ivan_plain = _earn(client, "100001", []), _earn(client, "100002", [])
    # The promotion's own string unlocks nothing: only a code issued to the member does.
    assert _earn(client, "100001", ["SPRING5"]) == anna_plain
    assert _earn(client, "100002", [anna]) == ivan_plain  # Anna's code, presented by Ivan
    assert _earn(client, "100001", [anna]) - anna_plain == BONUS
    assert _sale(client, "100001", [anna]).earned - anna_plain == BONUS
    # Used once: Anna's code is spent, Ivan's is still his to use.
    assert _earn(client, "100001", [anna]) == anna_plain
    assert _offline(client, "100001", [anna]).earned == anna_plain
    assert _offline(client, "100002", [ivan]).earned - ivan_plain == BONUS
    (line,) = [x for x in _run(server, "coupons", "list").output.splitlines() if anna in x]
    assert "1 holders         1 used" in line


def test_a_shared_code_counts_uses_up_to_its_limit(
    client: ProcessingClient, server: RunningServer
) -> None:
    _with_coupon_promotion(server, "SPRING5")
    for member in ("100001", "100002", "100003"):
        _issue(server, "--member", member, "--code", "friends-26", "--limit", "2")
    plain = {m: _earn(client, m, []) for m in ("100001", "100002", "100003")}
    assert _sale(client, "100001", ["FRIENDS26"]).earned - plain["100001"] == BONUS
    assert _sale(client, "100001", ["FRIENDS26"]).earned == plain["100001"]  # once a member
    assert _offline(client, "100002", ["FRIENDS26"]).earned - plain["100002"] == BONUS
    # Two uses of two: the third holder's code unlocks nothing any more.
    assert _earn(client, "100003", ["FRIENDS26"]) == plain["100003"]
    assert "2/2 used" in _run(server, "coupons", "list").output
    # A member not issued the shared code gets nothing from it.
    assert _earn(client, "100004", ["FRIENDS26"]) == _earn(client, "100004", [])


def _calculated(
    client: ProcessingClient, member: str, coupons: list[str]
) -> tuple[wire.CheckRequest, wire.Calculation]:
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=member, lines=[_line()], coupons=coupons
    )
    return req, client.calculate(req)


def _hold(client: ProcessingClient, req: wire.CheckRequest, calc: wire.Calculation) -> wire.Hold:
    return client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h-{req.check_id}-{calc.fingerprint[:8]}",
    )


def _used_by(server: RunningServer, code: str) -> list[tuple[str | None]]:
    with server.ctx.storage.read() as db:
        return db.execute("SELECT used_check_id FROM coupons WHERE code = ?", [code]).fetchall()


def test_a_held_coupon_is_reserved_for_its_check(
    client: ProcessingClient, server: RunningServer
) -> None:
    """Two tills calculate checks with one single-use coupon before either holds: the first
    hold takes the coupon; the second, promised it by its calculation, is refused as stale,
    and calculated again it no longer gets the promotion. No receipt ever shows a coupon
    another check has."""
    _with_coupon_promotion(server, "SPRING5")
    _issue(server, "--member", "100001")
    code = _codes(server)["100001"]
    plain = _earn(client, "100001", [])
    one, one_calc = _calculated(client, "100001", [code])
    two, two_calc = _calculated(client, "100001", [code])
    assert one_calc.earn - plain == two_calc.earn - plain == BONUS  # both promised it
    _hold(client, one, one_calc)
    assert _used_by(server, code) == [(one.check_id,)]  # reserved by the held check
    with pytest.raises(Rejected) as refused:
        _hold(client, two, two_calc)
    assert refused.value.code == "stale_calculation"
    again = client.calculate(two)
    assert again.earn == plain  # the coupon is the first check's now
    _hold(client, two, again)
    assert _confirm(client, one).earned - plain == BONUS
    assert _confirm(client, two).earned == plain
    with server.ctx.storage.read() as db:
        conflicts = db.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0]
    assert _used_by(server, code) == [(one.check_id,)] and conflicts == 0


def test_a_cancelled_replaced_or_expired_hold_frees_its_coupon(
    client: ProcessingClient, server: RunningServer
) -> None:
    _with_coupon_promotion(server, "SPRING5")
    _issue(server, "--member", "100001")
    code = _codes(server)["100001"]
    plain = _earn(client, "100001", [])
    req, calc = _calculated(client, "100001", [code])
    _hold(client, req, calc)
    client.cancel(req.check_id, idempotency_key=f"x-{req.check_id}")
    assert _used_by(server, code) == [(None,)]
    assert _earn(client, "100001", [code]) - plain == BONUS
    # A hold whose answer was lost is replaced by the same till's new hold of the check:
    # the coupon stays with the check, once.
    req, calc = _calculated(client, "100001", [code])
    _hold(client, req, calc)
    lost = client.calculate(req)
    _hold(client, req, lost.model_copy(update={"fingerprint": lost.fingerprint}))
    assert _used_by(server, code) == [(req.check_id,)]
    # Expired, it is freed when the server sweeps holds (the next hold does).
    server.ctx.clock.advance(HOLD_TTL_SECONDS + 1)  # type: ignore[attr-defined]
    other, other_calc = _calculated(client, "100002", [])
    _hold(client, other, other_calc)
    assert _used_by(server, code) == [(None,)]
    assert _sale(client, "100001", [code]).earned - plain == BONUS
    assert _confirm(client, other).status == "confirmed"


def test_a_late_confirm_after_its_coupon_went_elsewhere_is_a_conflict(
    client: ProcessingClient, server: RunningServer
) -> None:
    """A hold that expired gave its coupon back; another check used it; the late confirm
    still settles as its receipt was printed, and the operator sees the conflict."""
    _with_coupon_promotion(server, "SPRING5")
    _issue(server, "--member", "100001")
    code = _codes(server)["100001"]
    plain = _earn(client, "100001", [])
    late = _held(client, "100001", [code])
    server.ctx.clock.advance(HOLD_TTL_SECONDS + 1)  # type: ignore[attr-defined]
    first = _sale(client, "100001", [code])
    assert first.earned - plain == BONUS
    settled = _confirm(client, late)
    with server.ctx.storage.read() as db:
        conflicts = db.execute(
            "SELECT kind, details FROM conflicts WHERE check_id = ?", [late.check_id]
        ).fetchall()
    assert _used_by(server, code) == [(first.check_id,)]  # used once, by the first
    assert settled.check_id == late.check_id
    assert [k for k, _ in conflicts] == ["coupon_already_used"]
    assert "SPRING5" in conflicts[0][1]


def test_a_full_return_gives_the_coupon_back_and_a_part_return_does_not(
    client: ProcessingClient, server: RunningServer
) -> None:
    _with_coupon_promotion(server, "SPRING5")
    _issue(server, "--member", "100001")
    code = _codes(server)["100001"]
    plain = _earn(client, "100001", [])
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()),
        member_id="100001",
        lines=[_line(), _line()],
        coupons=[code],
    )
    calc = client.calculate(req)
    client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h-{req.check_id}",
    )
    _confirm(client, req)

    def give_back(index: int) -> None:
        back = wire.ReturnRequest(
            return_id=str(uuid.uuid4()),
            check_id=req.check_id,
            lines=[wire.ReturnLine(index=index, quantity=Decimal(1))],
        )
        client.return_check(back, idempotency_key=f"r-{back.return_id}")

    give_back(0)
    assert _earn(client, "100001", [code]) == plain  # half the check kept: still used
    give_back(1)
    assert _earn(client, "100001", [code]) - plain == BONUS  # all back: usable again
    assert code in [c.code for c in client.identify("+79161234567").coupons]


def test_a_cancelled_code_unlocks_nothing(client: ProcessingClient, server: RunningServer) -> None:
    _with_coupon_promotion(server, "SPRING5")
    _issue(server, "--member", "100001")
    code = _codes(server)["100001"]
    plain = _earn(client, "100001", [])
    assert code in [c.code for c in client.identify("+79161234567").coupons]
    cancelled = _run(server, "coupons", "cancel", code.lower(), "--reason", "printed wrong")
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled for 1 holders" in cancelled.output
    assert _earn(client, "100001", [code]) == plain
    assert _offline(client, "100001", [code]).earned == plain
    assert code not in [c.code for c in client.identify("+79161234567").coupons]
    assert code not in _run(server, "coupons", "list").output
    (line,) = [x for x in _run(server, "coupons", "list", "--all").output.splitlines() if code in x]
    assert line.split()[-2] == "cancelled"
    unknown = _run(server, "coupons", "cancel", "NOPE123", "--reason", "x")
    assert unknown.exit_code == 1 and "There is no coupon NOPE123." in unknown.output


def test_a_code_cancelled_while_a_hold_has_it_stays_cancelled(
    client: ProcessingClient, server: RunningServer
) -> None:
    """The operator cancels a code while an open hold has reserved a member's coupon: the held
    check keeps it (its receipt printed it), but a hold cancelled or run out afterwards does
    not give the member a cancelled coupon back."""
    _with_coupon_promotion(server, "SPRING5")
    _issue(server, "--member", "100001")
    _issue(server, "--member", "100002")
    codes = _codes(server)
    plain = {m: _earn(client, m, []) for m in ("100001", "100002")}
    walked, walked_calc = _calculated(client, "100001", [codes["100001"]])
    _hold(client, walked, walked_calc)
    kept, kept_calc = _calculated(client, "100002", [codes["100002"]])
    _hold(client, kept, kept_calc)
    for code in (codes["100001"], codes["100002"]):
        done = _run(server, "coupons", "cancel", code, "--reason", "printed wrong")
        assert done.exit_code == 0, done.output
    # The customer walks away: the till cancels the hold. The coupon is not usable again.
    client.cancel(walked.check_id, idempotency_key=f"x-{walked.check_id}")
    assert _earn(client, "100001", [codes["100001"]]) == plain["100001"]
    assert _offline(client, "100001", [codes["100001"]]).earned == plain["100001"]
    # The other held check is confirmed as held, coupon and all, once.
    assert _confirm(client, kept).earned - plain["100002"] == BONUS
    assert _earn(client, "100002", [codes["100002"]]) == plain["100002"]
    # A hold of a cancelled code that runs out does not bring it back either.
    _issue(server, "--member", "100009")
    late = _codes(server)["100009"]
    gone, gone_calc = _calculated(client, "100009", [late])
    _hold(client, gone, gone_calc)
    done = _run(server, "coupons", "cancel", late, "--reason", "printed wrong")
    assert done.exit_code == 0, done.output
    server.ctx.clock.advance(HOLD_TTL_SECONDS + 1)  # type: ignore[attr-defined]
    assert _earn(client, "100009", []) == _earn(client, "100009", [late])


def test_issue_refuses_a_promotion_without_a_coupon_and_a_bad_shared_code(
    server: RunningServer,
) -> None:
    _with_coupon_promotion(server, "SPRING5")
    base = ["coupons", "issue", "--to", "2099-12-31", "--reason", "x"]
    nothing = _run(server, *base, "no-such", "--member", "100001")
    assert nothing.exit_code == 1
    assert "no promotion 'no-such' asking for a coupon; those that do: welcome" in nothing.output
    bad = _run(server, *base, "welcome", "--member", "100001", "--code", "ЖЖЖ", "--limit", "2")
    assert bad.exit_code == 1 and "4 to 20 Latin letters and digits" in bad.output
    half = _run(server, *base, "welcome", "--member", "100001", "--code", "ABC123")
    assert half.exit_code == 1 and "needs both --code and --limit" in half.output
    nobody = _run(server, *base, "welcome", "--member", "999999")
    assert nobody.exit_code == 1 and "There is no member 999999." in nobody.output


def test_the_operator_api_issues_lists_and_cancels_coupons(server: RunningServer) -> None:
    _with_coupon_promotion(server, "SPRING5")
    added = _run(server, "operators", "add", "olga")
    assert added.exit_code == 0, added.output
    key = added.output.strip()
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as op:
        issued = op.post(
            "/v1/operator/coupons/issue",
            json={
                "promo_id": "welcome", "phones": ["+79161234567", "+79161234568", "nope"],
                "code": "Pair26", "limit": 1, "valid_to": "2099-12-31", "reason": "pair",
            },
        )  # fmt: skip
        assert issued.status_code == 200, issued.text
        assert issued.json()["members"] == 2 and len(issued.json()["rejected_phones"]) == 1
        listed = {c["code"]: c for c in op.get("/v1/operator/coupons").json()}
        assert (listed["PAIR26"]["holders"], listed["PAIR26"]["limit"]) == (2, 1)
        bad = op.post(
            "/v1/operator/coupons/issue",
            json={"promo_id": "nope", "member_id": "100001", "valid_to": "2099-12-31",
                  "reason": "x"},
        )  # fmt: skip
        assert bad.status_code == 422 and "no promotion 'nope'" in bad.json()["message"]
        gone = op.post("/v1/operator/coupons/pair26/cancel", json={"reason": "ended"})
        assert gone.json() == {"code": "PAIR26", "cancelled": 2}
        missing = op.post("/v1/operator/coupons/NOPE1/cancel", json={"reason": "x"})
        assert missing.status_code == 404
    with server.ctx.storage.read() as db:
        log = db.execute(
            "SELECT operator, action FROM operator_log WHERE action LIKE 'coupon_%' ORDER BY id"
        ).fetchall()
    assert log == [("olga", "coupon_issue"), ("olga", "coupon_cancel")]


def test_the_lists_tell_a_code_an_open_hold_reserved_from_a_used_one(
    client: ProcessingClient, server: RunningServer
) -> None:
    """A held check's coupon is not used yet: the customer may walk away and get it back. The
    operator's list (command and API) says so until the confirm; a hold that ran out frees it."""
    _with_coupon_promotion(server, "SPRING5")
    _issue(server, "--member", "100001")
    _issue(server, "--member", "100002")
    codes = _codes(server)
    anna, ivan = codes["100001"], codes["100002"]
    added = _run(server, "operators", "add", "olga")
    assert added.exit_code == 0, added.output

    def line(code: str) -> str:
        (found,) = [x for x in _run(server, "coupons", "list").output.splitlines() if code in x]
        return found

    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {added.output.strip()}"}
    ) as op:

        def counted(code: str) -> tuple[int, int]:
            listed = {c["code"]: c for c in op.get("/v1/operator/coupons").json()}
            return listed[code]["used"], listed[code]["reserved"]

        held = _held(client, "100001", [anna])
        assert counted(anna) == (0, 1)
        assert "1 holders         0 used, 1 in open holds  " in line(anna)
        _confirm(client, held)
        assert counted(anna) == (1, 0)
        assert "1 holders         1 used  " in line(anna)

        _held(client, "100002", [ivan])
        assert counted(ivan) == (0, 1)
        server.ctx.clock.advance(HOLD_TTL_SECONDS + 1)  # type: ignore[attr-defined]
        assert counted(ivan) == (0, 0)  # ran out, not swept yet: free again, and not a use
