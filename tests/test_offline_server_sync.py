"""Against the real server on loopback: cache refresh, offline identify, `till sync`/`till status`.

Also the clock test: a till clock a day ahead or behind loses no points and keeps order.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from offline_cache.checks import CheckRecord, commit_check
from offline_cache.db import open_database
from offline_cache.offline import identify_offline
from offline_cache.refresh import refresh_all
from processing.client import ProcessingClient
from processing.server.testing import running_server
from terminal.sync_cli import status, sync


def _offline_check(made_at: datetime, spend: str) -> CheckRecord:
    check_id = str(uuid.uuid4())
    payload = {
        "check_id": check_id,
        "member_id": "100001",
        "lines": [{"name": "tea", "price": "200.00", "quantity": "1", "amount": "200.00"}],
        "spent_offline": spend,
        "provisional_earn": "6.00",
        "made_at": made_at.isoformat(),
    }
    return CheckRecord(
        check_id,
        "100001",
        Decimal("200.00"),
        Decimal("6.00"),
        Decimal(spend),
        True,
        payload,
        provisional=True,
    )


def test_refresh_identify_then_sync_with_a_skewed_clock(tmp_path: Path) -> None:
    till = tmp_path / "till.db"
    config = tmp_path / "config.toml"
    with running_server(tmp_path / "server.db") as server:
        config.write_text(
            f'[processing]\nurl = "{server.url}"\napi_key = "{server.api_key}"\n'
            f'[offline]\ndb_path = "{till}"\n'
        )
        db = open_database(till)
        with ProcessingClient(server.url, server.api_key) as client:
            refresh_all(db, client)
            before = client.identify("+79161234567").balance.available
        found = identify_offline(db, "8 916 123-45-67", "RU", datetime.now(UTC))
        assert found.member.member_id == "100001" and found.available == before
        ids = []
        for skew in (timedelta(days=1), timedelta(days=-1), timedelta(0)):
            moment = datetime.now(UTC) + skew
            record = commit_check(db, _offline_check(moment, "10.00"), clock=lambda m=moment: m)
            ids.append(record.id)
        assert identify_offline(db, "+79161234567", "RU", datetime.now(UTC)).available == (
            before - Decimal("30.00")
        )
        runner = CliRunner()
        result = runner.invoke(sync, ["--config", str(config)])
        assert result.exit_code == 0, result.output
        assert "3 acknowledged" in result.output
        shown = runner.invoke(status, ["--config", str(config)])
        assert shown.exit_code == 0 and "server: online" in shown.output
        assert "queue: 0 unsent" in shown.output
        with ProcessingClient(server.url, server.api_key) as client:
            after = client.identify("+79161234567").balance.available
        assert after == before - Decimal("30.00")  # every offline spend applied, once
        ledger = sqlite3.connect(tmp_path / "server.db")
        rows = ledger.execute(
            "SELECT id FROM checks WHERE id IN (?, ?, ?) ORDER BY created_at, rowid", ids
        ).fetchall()
        assert sorted(r[0] for r in rows) == sorted(ids)
        ledger.close()
        # the server's figure now stands in the cache, with nothing pending
        again = identify_offline(db, "+79161234567", "RU", datetime.now(UTC))
        assert again.pending_spend == 0 and again.available == after
