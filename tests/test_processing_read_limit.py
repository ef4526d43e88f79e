"""A per-till limit on the read routes (processing.server.readlimit): a leaked till key flooding
identify/calculate/deltas gets 429 with Retry-After, while the other tills, and this till's
writes, are served. Refill is driven by the server's manual clock, never by waiting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from loyalty.claims import claim_code
from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.errors import ErrorCode, Rejected
from processing.server.cli import processing
from processing.server.readlimit import DEFAULT_BURST, DEFAULT_RATE, ReadLimit
from processing.server.testing import ManualClock, RunningServer, running_server, server_process
from terminal import i18n
from terminal.sentences import rejected_sentence
from tests.support.read_limited import read_limited

ANNA = "100001"
LINE = {"name": "bread", "price": "40.00", "quantity": "1", "amount": "40.00"}
BURST = 5


@pytest.fixture
def limited(tmp_path: Path, clock: ManualClock) -> Iterator[RunningServer]:
    with read_limited(tmp_path / "processing.db", clock, BURST) as live:
        yield live


def _http(server: RunningServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def _check() -> dict[str, object]:
    return {"check_id": str(uuid.uuid4()), "member_id": ANNA, "lines": [LINE]}


def _assert_refused(answer: httpx.Response) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.json()["code"] == "too_many_requests"
    assert set(answer.json()) == {"code", "message", "details"}
    wait = int(answer.headers["retry-after"])
    assert wait >= 1
    assert answer.json()["details"] == {"retry_after_seconds": wait}
    return wait


def test_a_flooding_till_is_refused_and_another_till_is_served(limited: RunningServer) -> None:
    honest_key = limited.add_till("S1", "T2")
    with _http(limited, limited.api_key) as hostile, _http(limited, honest_key) as honest:
        expected = honest.post("/v1/calculate", json=_check()).json()
        statuses = []
        for n in range(30):
            statuses.append(hostile.post("/v1/calculate", json=_check()).status_code)
            if n % 10 == 0:  # the other till keeps selling meanwhile, within its own burst
                served = honest.post("/v1/calculate", json=_check())
                assert served.status_code == 200, served.text
                assert served.json()["earn"] == expected["earn"]
                assert served.json()["total"] == expected["total"]
        assert statuses[:BURST] == [200] * BURST
        assert set(statuses[BURST:]) == {429}
        identify = {"kind": "auto", "value": "+79001234567"}
        _assert_refused(hostile.post("/v1/identify", json=identify))


def test_after_the_refill_the_flooding_till_is_served_again(
    limited: RunningServer, clock: ManualClock
) -> None:
    with _http(limited, limited.api_key) as till:
        for _ in range(BURST):
            assert till.post("/v1/calculate", json=_check()).status_code == 200
        wait = _assert_refused(till.post("/v1/calculate", json=_check()))
        clock.advance(wait)
        assert till.post("/v1/calculate", json=_check()).status_code == 200
        _assert_refused(till.post("/v1/calculate", json=_check()))


def test_writes_of_a_till_over_its_read_limit_are_served(
    limited: RunningServer, clock: ManualClock
) -> None:
    with _http(limited, limited.api_key) as till:
        check = _check()
        calc = till.post("/v1/calculate", json=check)
        assert calc.status_code == 200
        flood = [till.post("/v1/calculate", json=_check()).status_code for _ in range(BURST + 2)]
        assert flood[-1] == 429
        path = f"/v1/checks/{check['check_id']}"
        hold = till.post(
            f"{path}/hold",
            json={**check, "fingerprint": calc.json()["fingerprint"]},
            headers={wire.IDEMPOTENCY_HEADER: str(uuid.uuid4())},
        )
        assert hold.status_code == 200, hold.text
        confirm = till.post(f"{path}/confirm", headers={wire.IDEMPOTENCY_HEADER: str(uuid.uuid4())})
        assert confirm.status_code == 200, confirm.text
        assert confirm.json()["earned"] == calc.json()["earn"]
    # A check without a customer (a claim) is a write too.
    with ProcessingClient(limited.url, limited.api_key, ClientSettings(attempts=1)) as client:
        check_id = str(uuid.uuid4())
        claim = client.create_claim(
            wire.ClaimRequest(
                check_id=check_id,
                code=claim_code(check_id),
                lines=[wire.Line.model_validate(LINE)],
                made_at=clock.now,
            ),
            idempotency_key=str(uuid.uuid4()),
        )
    assert claim.code == claim_code(check_id)


def test_the_fastapi_door_and_the_snapshot_reads_are_limited_too(limited: RunningServer) -> None:
    with _http(limited, limited.api_key) as till:
        for _ in range(BURST):
            assert till.get("/v1/members/delta").status_code == 200
        _assert_refused(till.get("/v1/members/delta"))
        _assert_refused(till.get("/v1/program"))
        _assert_refused(till.get("/v1/catalog/delta"))
        # Not exactly application/json: the fast path hands this one to FastAPI.
        _assert_refused(
            till.post(
                "/v1/calculate",
                content=httpx.Request("POST", "/", json=_check()).content,
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        )
        # Refused before the body is read or validated: a broken body is not even looked at.
        _assert_refused(till.post("/v1/identify", content=b"{not json"))


def test_the_fastapi_door_alone_limits(limited: RunningServer) -> None:
    with _http(limited, limited.api_key) as till:
        statuses = [
            till.post(
                "/v1/calculate",
                content=httpx.Request("POST", "/", json=_check()).content,
                headers={"Content-Type": "application/json; charset=utf-8"},
            ).status_code
            for _ in range(BURST + 3)
        ]
    assert statuses == [200] * BURST + [429] * 3


def test_the_tills_client_reports_the_refusal_once_and_the_cashier_reads_it(
    limited: RunningServer,
) -> None:
    sent: list[str] = []

    def count(request: httpx.Request) -> None:
        sent.append(request.url.path)

    with ProcessingClient(limited.url, limited.api_key, ClientSettings(attempts=3)) as client:
        client._http.event_hooks["request"].append(count)
        request = wire.CheckRequest.model_validate(_check())
        for _ in range(BURST):
            client.calculate(request)
        with pytest.raises(Rejected) as refused:
            client.calculate(request)
    assert refused.value.code == ErrorCode.TOO_MANY_REQUESTS and refused.value.status == 429
    assert len(sent) == BURST + 1  # not retried: the till does not hammer on
    try:
        i18n.use("ru")  # what the cashier reads on the screen
        assert "слишком много запросов" in rejected_sentence(refused.value)
    finally:
        i18n.use("en")


def test_a_limit_of_zero_is_off(tmp_path: Path, clock: ManualClock) -> None:
    with (
        running_server(
            tmp_path / "p.db", clock=clock, read_limit=ReadLimit(rate=0, burst=1)
        ) as live,
        _http(live, live.api_key) as till,
    ):
        assert {till.get("/v1/program").status_code for _ in range(20)} == {200}


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--till-read-rate", "-1"),
        ("--till-read-rate", "nan"),
        ("--till-read-rate", "inf"),
        ("--till-read-rate", "fast"),
        ("--till-read-burst", "0"),
        ("--till-read-burst", "1.5"),
    ],
)
def test_serve_refuses_a_nonsense_read_limit_in_one_sentence(
    tmp_path: Path, option: str, value: str
) -> None:
    result = CliRunner().invoke(
        processing, ["serve", "--db", str(tmp_path / "p.db"), "--demo", option, value]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # click's refusal, not a crash
    assert option in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p.db").exists()  # refused before anything was opened


def test_the_read_limit_bucket() -> None:
    limit = ReadLimit(rate=2.0, burst=3)
    assert [limit.take(7, 100.0) for _ in range(4)] == [0, 0, 0, 1]
    assert limit.take(8, 100.0) == 0  # another till has its own bucket
    assert limit.take(7, 100.5) == 0  # half a second refills one read at 2/s
    assert limit.take(7, 100.5) == 1
    assert limit.take(7, 99.0) == 1  # a clock stepping back refills nothing
    slow = ReadLimit(rate=0.1, burst=1)
    assert slow.take(1, 0.0) == 0
    assert slow.take(1, 0.0) == 10  # whole seconds until one read is back
    with pytest.raises(ValueError, match="rate"):
        ReadLimit(rate=float("nan"), burst=1)
    with pytest.raises(ValueError, match="burst"):
        ReadLimit(rate=1, burst=0)


def test_serve_applies_its_read_limit_options(tmp_path: Path) -> None:
    db_path = tmp_path / "p.db"
    with running_server(db_path) as seeded:  # seeds the demo program and makes a till key
        key = seeded.api_key
    options = ("--till-read-rate", "0.001", "--till-read-burst", "2")
    with server_process(db_path, extra_args=options) as url:
        headers = {"Authorization": f"Bearer {key}"}
        statuses = [httpx.get(f"{url}/v1/program", headers=headers).status_code for _ in range(3)]
        refused = httpx.get(f"{url}/v1/program", headers=headers)
    assert statuses == [200, 200, 429]
    assert int(refused.headers["retry-after"]) >= 999  # a read back every 1000 s


def test_every_worker_process_applies_the_serve_read_limit(tmp_path: Path) -> None:
    db_path = tmp_path / "p.db"
    with running_server(db_path) as seeded:
        key = seeded.api_key
    options = ("--till-read-rate", "0.001", "--till-read-burst", "2")
    with server_process(db_path, workers=2, extra_args=options) as url:
        headers = {"Authorization": f"Bearer {key}"}
        # A fresh connection each time: the kernel spreads them over both processes.
        statuses = [httpx.get(f"{url}/v1/program", headers=headers).status_code for _ in range(20)]
    # Each process keeps its own buckets: at most two reads served by each.
    assert statuses.count(200) <= 4 and statuses.count(429) >= 16, statuses


def test_serve_defaults_are_the_limits_own() -> None:
    # The CLI writes them out (it imports the server lazily); they must not drift apart.
    defaults = {param.name: param.default for param in processing.commands["serve"].params}
    assert defaults["till_read_rate"] == DEFAULT_RATE
    assert defaults["till_read_burst"] == DEFAULT_BURST
