"""The operator API on the real server: its own key kind (a till's key is refused on it and an
operator's key on the till's routes), and the commands' operations over HTTP with the
operator's name kept with every change."""

from __future__ import annotations

from pathlib import Path

import httpx
from click.testing import CliRunner

from processing.server.cli import processing
from processing.server.testing import RunningServer

ROOT = Path(__file__).resolve().parent.parent
OP = "/v1/operator"


def _operator_key(server: RunningServer, name: str = "olga") -> str:
    result = CliRunner().invoke(
        processing, ["operators", "add", name, "--db", server.ctx.storage.location]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key.startswith("tillop_")
    return key


def _client(server: RunningServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})


def test_operator_and_till_keys_are_not_interchangeable(server: RunningServer) -> None:
    key = _operator_key(server)
    with server.ctx.storage.read() as conn:
        stored = conn.execute("SELECT name, key_hash FROM operators").fetchall()
    assert stored[0][0] == "olga" and key not in stored[0][1]  # kept only as a hash
    with _client(server, server.api_key) as till:
        assert till.get(f"{OP}/audit").status_code == 401
        assert till.get("/v1/program").status_code == 200
    with _client(server, key) as op:
        assert op.get(f"{OP}/audit").status_code == 200
        assert op.get("/v1/program").status_code == 401
        assert op.post("/v1/identify", json={"phone": "+79160000001"}).status_code == 401
    assert httpx.get(f"{server.url}{OP}/audit").status_code == 401
    # A new key for the same name revokes the old one at once.
    newer = _operator_key(server)
    with _client(server, key) as op:
        assert op.get(f"{OP}/audit").status_code == 401
    revoked = CliRunner().invoke(
        processing, ["operators", "revoke", "olga", "--db", server.ctx.storage.location]
    )
    assert revoked.exit_code == 0, revoked.output
    with _client(server, newer) as op:
        assert op.get(f"{OP}/audit").status_code == 401


def test_the_operator_api_is_in_the_openapi_document(server: RunningServer) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    paths = [p for p in schema["paths"] if p.startswith(OP)]
    assert f"{OP}/members/import" in paths and f"{OP}/tills/{{store}}/{{till}}/revoke" in paths
    assert "OperatorKey" in schema["components"]["securitySchemes"]
    audit = schema["paths"][f"{OP}/audit"]["get"]
    assert audit["security"] == [{"OperatorKey": []}]


def test_program_check_load_and_show(server: RunningServer) -> None:
    text = (ROOT / "program.toml").read_text(encoding="utf-8")
    with _client(server, _operator_key(server)) as op:
        bad = op.post(f"{OP}/program/check", json={"toml": "currency = 5\n"}).json()
        assert bad["valid"] is False and bad["problems"]
        assert op.post(f"{OP}/program/check", json={"toml": text}).json() == {
            "valid": True,
            "problems": [],
        }
        refused = op.post(f"{OP}/program/load", json={"toml": "currency = 5\n"})
        assert refused.status_code == 422
        assert refused.json()["details"]["problems"] == bad["problems"]
        loaded = op.post(f"{OP}/program/load", json={"toml": text}).json()
        assert loaded["version"] == 2
        shown = op.get(f"{OP}/program", params={"version": 2}).json()
        again = op.post(f"{OP}/program/check", json={"toml": shown["toml"]}).json()
        assert again["valid"] is True
        missing = op.get(f"{OP}/program", params={"version": 99})
        assert missing.status_code == 404
        assert missing.json()["message"] == "There is no program version 99."


def test_members_import_export_adjust_and_state(server: RunningServer) -> None:
    body = (
        "Телефон;name;balance\n"
        "8 916 555-01-01;Анна;150,50\n"
        "not a phone;Борис;0\n"
        "+7 916 555 01 01;Анна again;1\n"
    ).encode()
    with _client(server, _operator_key(server)) as op:
        imported = op.post(
            f"{OP}/members/import",
            params={"column": "phone=Телефон", "source": "clients.csv"},
            content=body,
            headers={"Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text
        result = imported.json()
        assert (result["rows"], result["added"], result["points"]) == (3, 1, "150.50")
        assert [r["line"] for r in result["rejected"]] == [3, 4]
        assert result["rejected"][0]["problem"].startswith("phone: ")
        twice = op.post(
            f"{OP}/members/import",
            params={"column": "phone=Телефон"},
            content=body,
            headers={"Content-Type": "text/csv"},
        ).json()
        assert (twice["added"], twice["unchanged"]) == (0, 1)
        no_column = op.post(f"{OP}/members/import", content=body)
        assert no_column.status_code == 422
        assert "name it with column FIELD=HEADER" in no_column.json()["message"]
        export = op.get(f"{OP}/members/export")
        assert export.headers["content-type"].startswith("text/csv")
        assert "+79165550101" in export.text
        adjusted = op.post(
            f"{OP}/members/+79165550101/adjust",
            json={"points": "-50", "kind": "write_off", "reason": "duplicate bonus"},
        ).json()
        assert adjusted["points"] == "-50.00" and adjusted["available"] == "100.50"
        state = op.post(
            f"{OP}/members/+79165550101/state", json={"state": "blocked", "reason": "fraud"}
        ).json()
        assert (state["before"], state["state"]) == ("active", "blocked")
        unknown = op.post(f"{OP}/members/000/state", json={"state": "blocked", "reason": "fraud"})
        assert unknown.status_code == 422
        assert unknown.json()["message"] == "No member has this id, card number or phone."
        assert op.get(f"{OP}/audit").json()["sound"] is True
    with server.ctx.storage.read() as conn:
        log = conn.execute("SELECT operator, action FROM operator_log ORDER BY id").fetchall()
    assert log == [("olga", "members_import"), ("olga", "adjust_write_off"), ("olga", "state")]


def test_tills_revoke_and_rotate_key(server: RunningServer) -> None:
    other = server.add_till("S2", "T9")
    with _client(server, _operator_key(server)) as op:
        listed = op.get(f"{OP}/tills").json()
        assert [(t["store_id"], t["till_id"], t["active"]) for t in listed] == [
            ("S1", "T1", True),
            ("S2", "T9", True),
        ]
        assert op.post(f"{OP}/tills/S2/T9/revoke", json={"reason": "stolen"}).status_code == 204
        with _client(server, other) as till:
            assert till.get("/v1/program").status_code == 401
        again = op.post(f"{OP}/tills/S2/T9/revoke", json={"reason": "stolen"})
        assert again.status_code == 404
        assert again.json()["message"] == "Till T9 of store S2 has no key to revoke."
        rotated = op.post(f"{OP}/tills/S1/T1/rotate-key", json={"reason": "rotation"}).json()
        with _client(server, server.api_key) as old:
            assert old.get("/v1/program").status_code == 401
        with _client(server, rotated["api_key"]) as new:
            assert new.get("/v1/program").status_code == 200
        assert [s["store_id"] for s in op.get(f"{OP}/stores").json()] == ["S1", "S2"]


def test_books_conflicts_and_jobs(server: RunningServer) -> None:
    with _client(server, _operator_key(server)) as op:
        liability = op.get(f"{OP}/reports/liability")
        assert liability.status_code == 200 and liability.text.startswith("store")
        movements = op.get(
            f"{OP}/reports/movements", params={"from": "2020-01-01", "to": "2020-01-02"}
        )
        assert movements.status_code == 200 and movements.text.splitlines() == [
            "id,at,member_id,kind,points,lot_id,check_id,store,note"
        ]
        backwards = op.get(
            f"{OP}/reports/movements", params={"from": "2020-01-02", "to": "2020-01-01"}
        )
        assert backwards.status_code == 422 and backwards.json()["message"] == "to is before from."
        assert op.get(f"{OP}/conflicts").json() == []
        missing = op.post(f"{OP}/conflicts/7/resolve", json={"reason": "checked"})
        assert missing.json()["message"] == "There is no conflict 7."
        ran = op.post(f"{OP}/jobs/run", json={"notify_days": 0})
        assert ran.status_code == 200
        assert set(ran.json()) == {
            "lots_burnt",
            "points_burnt",
            "members",
            "holds_released",
            "notices",
        }
        assert op.post(f"{OP}/tills/S1/T1/revoke", json={"reason": " "}).status_code == 422
