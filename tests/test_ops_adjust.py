"""Manual adjustments and member states: each with a reason and the operator's name in the
ledger and the operator log, seen by the tills at once, never more than the balance debited."""

from __future__ import annotations

from click.testing import CliRunner, Result

from processing.client import ProcessingClient
from processing.server import ledger
from processing.server.cli import processing
from processing.server.testing import ManualClock, RunningServer

ANNA, ANNA_PHONE = "100001", "+79161234567"  # 1500 active points


def run(server: RunningServer, *args: str) -> Result:
    return CliRunner().invoke(processing, [*args, "--db", server.ctx.storage.location])


def test_goodwill_correction_and_write_off_are_in_the_ledger_with_who_and_why(
    server: RunningServer, client: ProcessingClient, clock: ManualClock
) -> None:
    before = client.identify(ANNA_PHONE).balance.available
    credited = run(
        server, "members", "adjust", "8 916 123-45-67", "--points", "100", "--kind", "goodwill",
        "--reason", "late delivery", "--operator", "olga",
    )  # fmt: skip
    assert credited.exit_code == 0, credited.output
    assert credited.output.startswith(f"Member {ANNA}: +100.00 points (goodwill)")
    clock.advance(5)  # the credit is active from the command's moment
    assert client.identify(ANNA_PHONE).balance.available == before + 100
    refused = run(
        server, "members", "adjust", ANNA, "--points", "-5000", "--kind", "write_off",
        "--reason", "fraud", "--operator", "olga",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert refused.output == (
        "Error: The member has 1600.00 points available; 5000.00 cannot be debited.\n"
    )
    corrected = run(
        server, "members", "adjust", ANNA, "--points", "-30", "--kind", "correction",
        "--reason", "double goodwill", "--operator", "ivan",
    )  # fmt: skip
    assert corrected.exit_code == 0, corrected.output
    assert client.identify(ANNA_PHONE).balance.available == before + 70
    zero = run(server, "members", "adjust", ANNA, "--points", "0", "--kind", "correction",
               "--reason", "x")  # fmt: skip
    assert zero.output == "Error: The points must not be zero.\n"
    fraction = run(server, "members", "adjust", ANNA, "--points", "1.5", "--kind", "goodwill",
                   "--reason", "x")  # fmt: skip
    assert fraction.output == "Error: The program counts points as whole points.\n"
    with server.ctx.storage.read() as conn:
        notes = conn.execute(
            "SELECT points, note FROM movements WHERE member_id = ? AND kind = 'adjust'"
            " ORDER BY id",
            [ANNA],
        ).fetchall()
        log = conn.execute(
            "SELECT operator, action, subject, reason FROM operator_log ORDER BY id"
        ).fetchall()
    assert notes[0] == (10000, "goodwill: late delivery (olga)")
    assert sum(p for p, _ in notes[1:]) == -3000
    assert {n for _, n in notes[1:]} == {"correction: double goodwill (ivan)"}
    assert log == [
        ("olga", "adjust_goodwill", ANNA, "late delivery"),
        ("ivan", "adjust_correction", ANNA, "double goodwill"),
    ]
    with server.ctx.storage.read() as db:
        assert ledger.audit(db) == []


def test_a_blocked_member_is_refused_at_the_till_with_the_reason_kept(
    server: RunningServer, client: ProcessingClient
) -> None:
    blocked = run(server, "members", "state", ANNA, "blocked", "--reason", "card shared online",
                  "--operator", "olga")  # fmt: skip
    assert blocked.output == f"Member {ANNA}: active → blocked.\n"
    assert client.identify(ANNA_PHONE).member.state == "blocked"
    delta = client.members_delta()
    assert {m.id: m.state for m in delta.items}[ANNA] == "blocked"
    again = run(server, "members", "state", ANNA, "blocked", "--reason", "x")
    assert again.output == "Error: The member is already blocked.\n"
    earn_only = run(server, "members", "state", ANNA, "earn_only", "--reason", "under review")
    assert earn_only.exit_code == 0
    with server.ctx.storage.read() as conn:
        reason = conn.execute("SELECT state_reason FROM members WHERE id = ?", [ANNA]).fetchone()
    assert reason == ("under review",)
    unknown = run(server, "members", "state", "+79990000000", "blocked", "--reason", "x")
    assert unknown.output == "Error: No member has this id, card number or phone.\n"
    missing_reason = run(server, "members", "state", ANNA, "active")
    assert missing_reason.exit_code == 2  # click: --reason is required
