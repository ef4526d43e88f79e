"""The benchmark runner keeps PRODUCT.md's JSON contract and refuses unknown names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import discover, main

CONTRACT_KEYS = {"name", "value", "unit", "floor", "ratio", "target", "ok"}


def test_every_issue_benchmark_is_registered() -> None:
    names = set(discover())
    assert {
        "calc_check_30_lines",
        "identify_rtt",
        "server_throughput",
        "outbox_commit",
        "offline_identify_1m",
        "sync_drain_10k",
        "scan_latency",
        "receipt_render",
        "tui_cold_start",
        "scan_to_panel",
    } <= names


def test_json_follows_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = main(["--only", "calc_check_30_lines", "--json", str(out)])
    [record] = json.loads(out.read_text())
    assert set(record) >= CONTRACT_KEYS
    assert record["name"] == "calc_check_30_lines"
    assert record["ratio"] == pytest.approx(record["value"] / record["floor"])
    assert code == (0 if record["ok"] else 1)


def test_unknown_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "no_such_figure"]) == 2
    assert "unknown benchmark: no_such_figure" in capsys.readouterr().err


def test_allowed_miss_is_reported_but_not_counted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import __main__ as runner
    from benchmarks.result import Result

    def missing() -> Result:
        return Result("always_misses", 2.0, "s", 1.0, 2.0, "ratio <= 1", False)

    monkeypatch.setattr(runner, "discover", lambda: {"always_misses": missing})
    assert runner.main(["--only", "always_misses", "--retries", "1"]) == 1
    out = capsys.readouterr().out
    assert out.count("FAIL always_misses") == 2  # the retry is measured and printed too
    assert runner.main(["--only", "always_misses", "--allow-miss", "always_misses"]) == 0
    assert "known misses, not counted: always_misses" in capsys.readouterr().out
