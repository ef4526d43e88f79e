"""Support for the adversarial till state machine (tests/test_adversarial_tills.py).

Three parts, none of them trusting the server's own code to judge the server:

- :class:`RawTill`: one till key speaking the protocol over plain httpx. Every answer is kept
  whatever its status (a 5xx or a dropped connection included), so the test sees exactly what
  an unlucky or hostile till would, and can throw an answer away to play a lost one.
- :class:`LedgerView`: the server's SQLite file opened read-only (``mode=ro``) in one snapshot:
  lots, movements, checks, returns, claims, members, written as plain SQL here.
- :func:`spend_cap`: the most points the program lets a check be paid with, worked out from
  the program's spend rules and the catalog's categories, independently of the server.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from pydantic import BaseModel

from loyalty.program import Program
from processing import wire
from processing.server.engine import Database, is_postgres
from processing.server.pg import PgDatabase, configure

CENT = Decimal("0.01")

APPLIED = ("confirmed", "applied_offline", "claimed")
"""Check statuses whose earn and spend are on the ledger."""


@dataclass(frozen=True)
class Call:
    """One request a till made and the status it got (0: no answer, the connection failed)."""

    till: str
    path: str
    status: int


@dataclass(frozen=True)
class Answer:
    """An answer as received: its status and its JSON body ({} when there was none)."""

    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str:
        """The error code of a refusal ("" for a success)."""
        return str(self.body.get("code", "")) if self.status >= 400 else ""

    def __str__(self) -> str:
        return f"{self.status} {self.code or 'ok'}"


class RawTill:
    """A till key in a store, posting wire models to the real server and keeping every answer."""

    def __init__(self, name: str, store: str, base_url: str, api_key: str, calls: list[Call]):
        self.name = name
        self.store = store
        self._calls = calls
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(30.0, connect=5.0),
        )

    def post(self, path: str, body: BaseModel | None = None, key: str | None = None) -> Answer:
        """POST ``body`` to ``/v1{path}`` (with ``key`` as the Idempotency-Key); never raises for
        a status or a dropped connection: that becomes an :class:`Answer` with status 0."""
        headers = {wire.IDEMPOTENCY_HEADER: key} if key is not None else {}
        content = b"{}" if body is None else body.model_dump_json().encode()
        headers["Content-Type"] = "application/json"
        try:
            response = self._http.post(f"{wire.API_PREFIX}{path}", content=content, headers=headers)
        except httpx.TransportError as exc:
            self._calls.append(Call(self.name, path, 0))
            return Answer(0, {"code": "no_answer", "message": repr(exc)})
        self._calls.append(Call(self.name, path, response.status_code))
        try:
            parsed = response.json()
        except ValueError:
            parsed = {"code": "not_json", "message": response.text[:200]}
        return Answer(response.status_code, parsed if isinstance(parsed, dict) else {})

    def close(self) -> None:
        self._http.close()


def wire_line(sku: str, barcode: str, category: str, price: Decimal, quantity: str) -> wire.Line:
    """A check line as a till sends it (``amount`` = price × quantity, half-up to cents)."""
    qty = Decimal(quantity)
    amount = (price * qty).quantize(CENT, rounding=ROUND_HALF_UP)
    return wire.Line(
        sku=sku,
        barcode=barcode,
        name=sku,
        category=category,
        price=price,
        quantity=qty,
        amount=amount,
    )


def _down(value: Decimal, quantum: Decimal) -> Decimal:
    return (value / quantum).to_integral_value(rounding=ROUND_DOWN) * quantum


def spend_cap(
    program: Program,
    lines: Sequence[Mapping[str, Any]],
    categories: Mapping[str, str],
    state: str,
) -> Decimal:
    """The most points the program lets these wire lines (as JSON) be paid with, for a member
    in ``state`` with any balance: nothing unless active; at most the check's share, nothing
    on excluded categories (the catalog's category of a known barcode or sku wins over the
    line's), at least ``min_paid_in_money`` paid in money, whole multiples of the precision,
    nothing below ``min_points``."""
    if state != "active":
        return Decimal(0)
    rules = program.spend
    total = Decimal(0)
    eligible = Decimal(0)
    for line in lines:
        amount = Decimal(str(line["amount"]))
        total += amount
        known = categories.get(line.get("barcode") or "") or categories.get(line.get("sku") or "")
        category = known if known is not None else str(line.get("category", ""))
        if category not in rules.excluded_categories:
            eligible += _down(amount * rules.max_percent_per_line / 100, CENT)
    limits = [
        _down(total * rules.max_percent_of_check / 100, CENT),
        eligible,
        max(Decimal(0), total - rules.min_paid_in_money),
    ]
    if rules.max_points is not None:
        limits.append(rules.max_points)
    cap = _down(min(limits), program.precision.quantum)
    return cap if cap >= rules.min_points else Decimal(0)


@dataclass(frozen=True)
class CheckRow:
    id: str
    member_id: str
    store_id: str
    status: str
    lines: list[dict[str, Any]]
    earn: int
    spend: int


class LedgerView:
    """One consistent read-only snapshot of the server database (amounts in hundredths)."""

    def __init__(self, conn: Database) -> None:
        self._db = conn

    def _all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, params).fetchall())

    def _one(self, sql: str, params: Sequence[object] = ()) -> int:
        row = self._db.execute(sql, params).fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def lots_total(self) -> int:
        """Every point the ledger holds: the sum of all lots' remaining points."""
        return self._one("SELECT SUM(remaining) FROM lots")

    def movements(self, kind: str, sign: int = 0, with_check: bool | None = None) -> int:
        """The sum of movements of ``kind`` (``sign`` > 0: only positive ones, < 0: negative;
        ``with_check``: only those tied to a check / only those that are not)."""
        where = ["kind = ?"]
        if sign:
            where.append("points > 0" if sign > 0 else "points < 0")
        if with_check is not None:
            where.append("check_id IS NOT NULL" if with_check else "check_id IS NULL")
        return self._one(f"SELECT SUM(points) FROM movements WHERE {' AND '.join(where)}", [kind])

    def unsound_members(self) -> list[str]:
        """Members whose lot-touching movements do not sum to their lots' remaining points."""
        rows = self._all(
            """SELECT m.id FROM members m
            LEFT JOIN (SELECT member_id, SUM(points) AS s FROM movements
                       WHERE kind IN ('earn', 'spend', 'expire', 'reverse', 'adjust')
                       GROUP BY member_id) mv ON mv.member_id = m.id
            LEFT JOIN (SELECT member_id, SUM(remaining) AS s FROM lots GROUP BY member_id) l
                   ON l.member_id = m.id
            WHERE COALESCE(mv.s, 0) != COALESCE(l.s, 0)"""
        )
        return [str(r[0]) for r in rows]

    def balances(self, now: int) -> dict[str, tuple[int, int, int]]:
        """Per member at ``now``: (points in active lots, points held by open holds, all lots)."""
        out: dict[str, tuple[int, int, int]] = {}
        for member_id, active, held, every in self._all(
            """SELECT m.id,
                (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id
                  AND active_from <= ?1 AND (expires_at IS NULL OR expires_at > ?1)),
                (SELECT COALESCE(SUM(spend), 0) FROM checks WHERE member_id = m.id
                  AND status = 'held' AND hold_expires_at > ?1),
                (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id)
            FROM members m""",
            [now],
        ):
            out[str(member_id)] = (int(active), int(held), int(every))
        return out

    def members(self) -> dict[str, tuple[str, str, int]]:
        """Per member: (phone, state, lifetime spend)."""
        return {
            str(r[0]): (str(r[1]), str(r[2]), int(r[3]))
            for r in self._all("SELECT id, phone, state, lifetime_spend FROM members")
        }

    def checks(self) -> dict[str, CheckRow]:
        return {
            str(r[0]): CheckRow(
                str(r[0]), str(r[1]), str(r[2]), str(r[3]), json.loads(r[4]), int(r[5]), int(r[6])
            )
            for r in self._all(
                "SELECT id, member_id, store_id, status, lines, earn, spend FROM checks"
            )
        }

    def per_check(self, kind: str) -> dict[str, tuple[int, int]]:
        """Per check id: (sum, count) of its movements of ``kind``."""
        return {
            str(r[0]): (int(r[1]), int(r[2]))
            for r in self._all(
                "SELECT check_id, SUM(points), COUNT(*) FROM movements"
                " WHERE kind = ? AND check_id IS NOT NULL GROUP BY check_id",
                [kind],
            )
        }

    def returns_total(self) -> tuple[int, int]:
        """(points taken back, points given back) over every stored return."""
        row = self._db.execute(
            "SELECT COALESCE(SUM(taken_back), 0), COALESCE(SUM(given_back), 0) FROM returns"
        ).fetchone()
        return int(row[0]), int(row[1])

    def claim_codes(self) -> set[str]:
        return {str(r[0]) for r in self._all("SELECT code FROM claims")}

    def catalog(self) -> dict[str, tuple[str, str, int]]:
        """Per sku: (its first barcode, category, price in hundredths)."""
        return {
            str(r[0]): (str(r[1]), str(r[2]), int(r[3]))
            for r in self._all(
                "SELECT p.sku, MIN(b.barcode), p.category, p.price FROM products p"
                " JOIN barcodes b ON b.sku = p.sku GROUP BY p.sku"
            )
        }

    def categories(self) -> dict[str, str]:
        """The catalog's category by sku and by barcode (what the server must go by)."""
        out: dict[str, str] = {}
        for sku, barcode, category in self._all(
            "SELECT p.sku, b.barcode, p.category FROM products p LEFT JOIN barcodes b"
            " ON b.sku = p.sku"
        ):
            out[str(sku)] = str(category)
            if barcode is not None:
                out[str(barcode)] = str(category)
        return out


@contextmanager
def read_ledger(db_path: Path | str) -> Iterator[LedgerView]:
    """The server database at ``db_path`` (a file, or a PostgreSQL DSN), read-only, as one
    snapshot (a read transaction)."""
    if is_postgres(db_path):
        with psycopg.connect(str(db_path), autocommit=True) as pg:
            configure(pg)
            pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield LedgerView(PgDatabase(pg))
            finally:
                pg.execute("ROLLBACK")
        return
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10.0)
    try:
        conn.isolation_level = None
        conn.execute("BEGIN")
        try:
            yield LedgerView(conn)
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()
