"""The benchmark runner keeps PRODUCT.md's JSON contract and refuses unknown names."""

from __future__ import annotations

import json
import os
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
        "members_import_200k",
    } <= names


def test_json_follows_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = main(["--only", "receipt_render", "--only", "calc_check_30_lines", "--json", str(out)])
    receipt, preview = json.loads(out.read_text())
    for record in (receipt, preview):
        assert set(record) >= CONTRACT_KEYS | {"p50", "p99"}
        assert record["p50"] <= record["p99"]
        assert record["ratio"] == pytest.approx(record["value"] / record["floor"])
    assert receipt["name"] == "receipt_render"
    assert receipt["same_printout"] is True  # both printouts decode to the same text
    assert preview["name"] == "calc_check_30_lines"
    assert preview["value"] == pytest.approx(preview["p50"], abs=1e-4)  # the median
    assert preview["floor"] == pytest.approx(preview["floor_cpu_ms"]["p50"], abs=1e-4)
    assert code == (0 if receipt["ok"] and preview["ok"] else 1)


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
    assert out.count("FAIL always_misses (attempt 2)") == 1  # the retry is measured and printed
    assert runner.main(["--only", "always_misses", "--allow-miss", "always_misses"]) == 0
    assert "known misses, not counted: always_misses" in capsys.readouterr().out


def _sequence(
    monkeypatch: pytest.MonkeyPatch, scores: list[float], broken_at: int | None = None
) -> list[int]:
    """Make ``flaky`` return these scores in turn (ok when <= 1); returns a call counter."""
    from benchmarks import __main__ as runner
    from benchmarks.result import Result

    calls = [0]

    def flaky() -> Result:
        n = calls[0]
        calls[0] += 1
        score = scores[n]
        broken = n == broken_at
        return Result(
            "flaky", score, "ms", 1.0, score, "<= 1", score <= 1 and not broken, None, score, broken
        )

    monkeypatch.setattr(runner, "discover", lambda: {"flaky": flaky})
    return calls


def test_a_retried_figure_is_judged_by_its_median_attempt_not_its_best(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    calls = _sequence(monkeypatch, [1.5, 0.5, 1.2])  # one lucky attempt among three
    assert main(["--only", "flaky", "--retries", "2", "--json", str(out)]) == 1
    [record] = json.loads(out.read_text())
    assert calls[0] == 3 and record["value"] == 1.2 and not record["ok"]
    assert [a["value"] for a in record["attempts"]] == [1.5, 0.5, 1.2]

    calls = _sequence(monkeypatch, [1.5, 0.5, 0.8])  # a noisy miss among good ones
    assert main(["--only", "flaky", "--retries", "2", "--json", str(out)]) == 0
    assert json.loads(out.read_text())[0]["value"] == 0.8


def test_a_met_figure_is_not_measured_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _sequence(monkeypatch, [0.9, 2.0, 2.0])
    assert main(["--only", "flaky", "--retries", "2"]) == 0
    assert calls[0] == 1


def test_a_broken_figure_is_never_retried_nor_excused(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _sequence(monkeypatch, [0.5, 0.5, 0.5], broken_at=0)  # fast, but wrong
    assert main(["--only", "flaky", "--retries", "2"]) == 1
    assert calls[0] == 1


def test_scratch_files_live_on_the_disk_of_the_products_data() -> None:
    from benchmarks.result import ROOT, scratch

    with scratch() as tmp:
        assert Path(tmp).parent == ROOT  # beside config.toml's till.sqlite3, not in /tmp
        assert os.stat(tmp).st_dev == os.stat(ROOT).st_dev


def test_the_startup_probe_reports_a_usable_till_after_its_first_frame(tmp_path: Path) -> None:
    import sys

    from benchmarks.bench_ui import _startup

    config = tmp_path / "config.toml"
    config.write_text(
        '[processing]\nurl = "http://127.0.0.1:9"\napi_key = "bench"\n'
        f'[offline]\ndb_path = "{tmp_path / "till.sqlite3"}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "TILL_FIRST_FRAME_PROBE": "1"}
    first, usable = _startup(
        [sys.executable, "-m", "terminal", "run", "--config", str(config)], env
    )
    assert 0 < first <= usable  # usable: services built, database open, devices started
    assert (tmp_path / "till.sqlite3").exists()
