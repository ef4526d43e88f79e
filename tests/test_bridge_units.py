"""The bridge's parts that need no network: the per-line split, the [bridge] config rules,
and the simulator's cart readers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from terminal.bridge.discounts import line_discounts
from terminal.bridge.simulator import CartError, lines_from_csv, lines_from_items
from terminal.cli import main

CENT = Decimal("0.01")
cents = st.integers(min_value=0, max_value=5_000_00).map(lambda n: Decimal(n) * CENT)


@given(
    st.lists(st.tuples(cents, st.booleans()), min_size=1, max_size=40),
    st.integers(min_value=0, max_value=10_000),
)
def test_split_is_exact_capped_and_leaves_unpayable_lines_alone(
    lines: list[tuple[Decimal, bool]], per_mille: int
) -> None:
    caps = [cap for cap, _ in lines]
    payable = [ok for _, ok in lines]
    most = sum((cap for cap, ok in lines if ok), Decimal(0))
    spend = (most * per_mille / 10_000).quantize(CENT, rounding="ROUND_DOWN")
    split = line_discounts(spend, caps, payable)
    assert sum(split, Decimal(0)) == spend
    for share, cap, ok in zip(split, caps, payable, strict=True):
        assert Decimal(0) <= share <= (cap if ok else Decimal(0))
        assert share == share.quantize(CENT)


def test_the_servers_split_is_kept_and_one_ignoring_the_flags_is_refused() -> None:
    caps = [Decimal("10"), Decimal("10"), Decimal("10")]
    server = [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert line_discounts(Decimal("10"), caps, [True] * 3, server) == server
    with pytest.raises(ValueError):  # points on a line the register does not let them pay
        line_discounts(Decimal("10"), caps, [True, False, True], server)
    offline = line_discounts(Decimal("10"), caps, [True, False, True])
    assert offline == [Decimal("5.00"), Decimal("0.00"), Decimal("5.00")]
    with pytest.raises(ValueError):
        line_discounts(Decimal("25"), caps, [True, False, True])


def test_config_check_wants_a_key_off_loopback_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[bridge]\nenabled = true\nhost = "0.0.0.0"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"{path}: bridge.key: is required when host is '0.0.0.0' (not loopback)"
    ]
    path.write_text('[bridge]\nenabled = true\nhost = "0.0.0.0"\nkey = "k"\n', encoding="utf-8")
    assert CliRunner().invoke(main, ["config", "check", "--config", str(path)]).exit_code == 0


def test_simulator_reads_a_csv_cart_and_names_a_bad_row(tmp_path: Path) -> None:
    good = tmp_path / "cart.csv"
    good.write_text(
        "line;name;price;quantity;amount;payable_with_points\n"
        "10;Milk;89,90;2;;yes\n20;Cigarettes;199.99;1;;no\n",
        encoding="utf-8",
    )
    lines = lines_from_csv(good)
    assert [(x["line"], x["amount"], x["payable_with_points"]) for x in lines] == [
        (10, "179.80", True),
        (20, "199.99", False),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,price\nMilk,abc\n", encoding="utf-8")
    with pytest.raises(CartError, match="row 2: price 'abc' is not a number"):
        lines_from_csv(bad)
    assert lines_from_items(["Bread:45.50:2"])[0]["amount"] == "91.00"
    with pytest.raises(CartError):
        lines_from_items(["Bread"])


def test_simulate_says_in_one_line_when_the_bridge_is_not_there(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["bridge", "simulate", "--url", "http://127.0.0.1:9", "--key", "", "--item", "A:1"],
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "cannot be reached" in result.output


def test_the_bridge_benchmark_is_in_the_runner() -> None:
    from benchmarks.__main__ import discover

    assert "bridge_calculate" in discover()


def test_the_bridge_never_pulls_in_textual() -> None:
    import subprocess
    import sys

    script = (
        "import importlib, pkgutil, sys, terminal.bridge as b\n"
        "names = [i.name for i in pkgutil.walk_packages(b.__path__, prefix='terminal.bridge.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names), sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.split(" ", 1)
    assert int(count) >= 8
    assert leaked.strip() == "[]"
