"""The segment options that ``offers add`` and ``coupons issue`` share (declared once in
processing.server.ops.cli_segments): the same options reach the same members through either
command, and a bad one is refused by both with the same sentence."""

from __future__ import annotations

from pathlib import Path

from processing.server.testing import RunningServer
from tests.support.operator_cli import load_program_with, run

ANNA, TARAS = "100001", "100009"
WELCOME = """
[[promotions]]
promo_id = "welcome"
name = "Welcome"
kind = "check_bonus"
starts_on = 2020-01-01
ends_on = 2099-12-31
bonus_points = 100
coupon = "WELCOME10"
"""
OFFER = ["offers", "add", "guests", "--title", "Гости"]
COUPON = ["coupons", "issue", "welcome"]


def test_one_phone_list_reaches_the_same_members_through_offers_and_coupons(
    server: RunningServer, tmp_path: Path
) -> None:
    load_program_with(server, tmp_path, WELCOME)
    phones = tmp_path / "guests.txt"
    phones.write_text("8 916 123-45-67\n+380501234567\nnot a phone\n", encoding="utf-8")
    for command in (OFFER, COUPON):
        given = run(server, *command, "--to", "2099-12-31", "--phones", str(phones),
                    "--reason", "guests")  # fmt: skip
        assert given.exit_code == 1, given.output  # a bad line is named, the rest is given
        assert "guests.txt: line 3: " in given.output
        assert "to 2 members" in given.output
    with server.ctx.storage.read() as db:
        offered = db.execute(
            "SELECT member_id FROM offers WHERE id = 'guests' ORDER BY member_id"
        ).fetchall()
        couponed = db.execute(
            "SELECT member_id FROM coupons WHERE unlocks = 'WELCOME10' ORDER BY member_id"
        ).fetchall()
    assert [str(r[0]) for r in offered] == [str(r[0]) for r in couponed] == [ANNA, TARAS]


def test_a_bad_segment_option_is_refused_alike_by_both_commands(
    server: RunningServer, tmp_path: Path
) -> None:
    load_program_with(server, tmp_path, WELCOME)
    missing = tmp_path / "nowhere.txt"
    for command in (OFFER, COUPON):
        base = [*command, "--to", "2099-12-31", "--reason", "x"]
        region = run(server, *base, "--tier", "Gold", "--region", "US")
        assert (region.exit_code, region.output) == (
            1,
            "Error: --region 'US' is not one of RU, UA, KZ.\n",
        )
        unread = run(server, *base, "--phones", str(missing))
        assert unread.exit_code == 1
        assert unread.output.startswith(f"Error: Cannot read {missing}: ")
    both = run(server, *COUPON, "--to", "2099-12-31", "--reason", "x", "--member", ANNA,
               "--birthday")  # fmt: skip
    assert both.output == "Error: Give either --member or a segment, not both.\n"
    with server.ctx.storage.read() as db:
        assert db.execute("SELECT COUNT(*) FROM offers WHERE id = 'guests'").fetchone()[0] == 0
        assert (
            db.execute("SELECT COUNT(*) FROM coupons WHERE unlocks = 'WELCOME10'").fetchone()[0]
            == 0
        )
