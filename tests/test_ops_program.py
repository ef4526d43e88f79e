"""The program as a file: check names every problem by its key, load installs a version from a
local date, show prints TOML that loads back unchanged, diff compares; and a check is
calculated with the version in force on its own day, however late it arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner, Result

from loyalty.claims import claim_code
from loyalty.program import demo_program
from processing import wire
from processing.client import ProcessingClient
from processing.server.cli import processing
from processing.server.ops import program_file
from processing.server.testing import RunningServer

EXAMPLE = Path(__file__).resolve().parents[1] / "program.toml"
DMITRY = "100007"  # no points, no lifetime spend, no birthday: the base rate


def run(*args: str) -> Result:
    return CliRunner().invoke(processing, list(args))


def test_the_example_file_is_valid_and_is_the_demo_program() -> None:
    result = run("program", "check", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    example = program_file.example_program()
    assert example is not None
    assert program_file.same_rules(example, demo_program())


def test_check_names_every_problem_by_its_key_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'currency = "USD"\nbase_rate_percent = 3\nversion = 4\n'
        '[[tiers]]\nname = "A"\nmin_lifetime_spend = 100\nrate_percent = 5\n'
        '[[tiers]]\nname = "B"\nmin_lifetime_spend = 500\nrate_percent = 500\n'
        "[birthday]\nrate_percent = 14\ndays_before = 40\n"
        "[spend]\nmax_percent_of_check = 120\n",
        encoding="utf-8",
    )
    result = run("program", "check", str(bad))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    keys = [line.split(": ")[1] for line in lines]
    assert keys == [
        "version",
        "currency",
        "birthday",
        "spend.max_percent_of_check",
        "tiers[1].rate_percent",
    ]
    assert all(line.startswith(f"{bad}: ") for line in lines)
    assert "Traceback" not in result.output


def test_a_toml_syntax_error_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('currency = "RUB\n', encoding="utf-8")
    result = run("program", "check", str(broken))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "line 1" in result.stderr


def test_show_prints_a_file_that_loads_back_unchanged(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    first = run("program", "load", str(EXAMPLE), "--db", db)
    assert first.exit_code == 0, first.output
    assert "version 1" in first.output
    shown = run("program", "show", "--db", db)
    assert shown.exit_code == 0, shown.output
    copy = tmp_path / "copy.toml"
    copy.write_text(shown.output, encoding="utf-8")
    again = run("program", "load", str(copy), "--db", db)
    assert again.exit_code == 0, again.output
    assert "version 2" in again.output
    assert run("program", "diff", "1", "2", "--db", db).output == "The rules are the same.\n"
    assert (
        run("program", "show", "--version", "2", "--db", db).output.split("\n", 2)[2]
        == (
            shown.output.split("\n", 2)[2]  # the same file, the header aside
        )
    )
    changed = tmp_path / "changed.toml"
    changed.write_text(
        shown.output.replace("base_rate_percent = 3", "base_rate_percent = 4.5"), encoding="utf-8"
    )
    diff = run("program", "diff", "2", str(changed), "--db", db)
    assert diff.output == "- base_rate_percent = 3\n+ base_rate_percent = 4.5\n"
    missing = run("program", "show", "--version", "9", "--db", db)
    assert missing.exit_code == 1
    assert missing.output == "Error: There is no program version 9.\n"


def test_a_version_cannot_start_in_the_past(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    assert run("program", "load", str(EXAMPLE), "--db", db).exit_code == 0
    past = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    result = run("program", "load", str(EXAMPLE), "--from", past, "--db", db)
    assert result.exit_code == 1
    assert "is in the past" in result.output
    assert run("program", "show", "--version", "2", "--db", db).exit_code == 1


def _offline(check_id: str, made_at: datetime) -> wire.OfflineCheck:
    line = wire.Line(
        name="Молоко",
        category="dairy",
        price=Decimal("1000.00"),
        quantity=Decimal("1"),
        amount=Decimal("1000.00"),
    )
    return wire.OfflineCheck(
        check_id=check_id,
        member_id=DMITRY,
        lines=[line],
        spent_offline=Decimal("0"),
        made_at=made_at,
    )


def test_an_offline_check_earns_by_the_rules_of_the_day_it_was_made(
    server: RunningServer, client: ProcessingClient, tmp_path: Path
) -> None:
    # Monday the program pays 3 %; on Wednesday a new version pays 10 % from that day on.
    richer = tmp_path / "richer.toml"
    richer.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "base_rate_percent = 3 ", "base_rate_percent = 10 "
        ),
        encoding="utf-8",
    )
    loaded = run("program", "load", str(richer), "--db", server.ctx.storage.location)
    assert loaded.exit_code == 0, loaded.output
    now = server.ctx.clock()
    made_monday = _offline("made-monday", now - timedelta(days=2))
    monday = client.replay_offline(made_monday, idempotency_key="m")
    wednesday = client.replay_offline(_offline("made-today", now), idempotency_key="w")
    assert monday.earned == Decimal("30")  # 3 % of 1000: Monday's rules
    assert wednesday.earned == Decimal("100")  # 10 %: today's
    with server.ctx.storage.read() as db:
        versions = dict(db.execute("SELECT id, program_version FROM checks WHERE id LIKE 'made-%'"))
    assert versions == {"made-monday": 1, "made-today": 2}
    # The tills pick the new version up through the snapshot they already fetch.
    assert client.program_snapshot().version == 2


def test_a_claim_from_monday_redeemed_after_the_change_earns_by_mondays_rules(
    server: RunningServer, client: ProcessingClient, tmp_path: Path
) -> None:
    now = server.ctx.clock()
    offline = _offline("claim-monday", now - timedelta(days=2))
    claim = client.create_claim(
        wire.ClaimRequest(
            check_id="claim-monday",
            code=claim_code("claim-monday"),
            lines=offline.lines,
            made_at=offline.made_at,
        ),
        idempotency_key="claim",
    )
    assert claim.earn_at_least == Decimal("30")
    richer = tmp_path / "richer.toml"
    richer.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "base_rate_percent = 3 ", "base_rate_percent = 10 "
        ),
        encoding="utf-8",
    )
    assert run("program", "load", str(richer), "--db", server.ctx.storage.location).exit_code == 0
    redeemed = client.redeem_claim(claim.code, DMITRY, idempotency_key="redeem")
    assert redeemed.check.earned == Decimal("30")  # Monday's 3 %, not today's 10 %
