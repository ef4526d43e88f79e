"""The operator's CLI as the tests drive it: a command against the test server's database,
and the shipped program loaded with promotions a test adds to it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from processing.server.cli import processing
from processing.server.testing import RunningServer

ROOT = Path(__file__).resolve().parent.parent.parent
VIP = """
[[promotions]]
promo_id = "vip-x3"
name = "Triple points for our guests"
kind = "multiplier"
starts_on = 2020-01-01
ends_on = 2099-12-31
multiplier = 3
personal = true
"""
"""A personal promotion: triple points for the members given the "vip-x3" offer."""


def run(server: RunningServer, *args: str) -> Result:
    """``till processing ARGS --db <the server's database>``, as an operator types it."""
    return CliRunner().invoke(
        processing, [*args, "--db", server.ctx.storage.location], catch_exceptions=False
    )


def load_program_with(server: RunningServer, tmp_path: Path, promotions: str) -> None:
    """Load the shipped program with ``promotions`` (TOML) added."""
    program = tmp_path / "program.toml"
    program.write_text((ROOT / "program.toml").read_text(encoding="utf-8") + promotions, "utf-8")
    loaded = run(server, "program", "load", str(program))
    assert loaded.exit_code == 0, loaded.output
