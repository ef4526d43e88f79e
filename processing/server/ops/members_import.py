"""Members from a 1C or spreadsheet export: phones normalised for the region, opening balances
as lots with an expiry, in one transaction of bulk inserts.

A row whose phone is already a member's is left as it is (so running the same file again
changes nothing); a row repeating an earlier row's phone or card, or with a bad value, is
rejected with its line number and nothing of it is written. An opening balance is a lot active
at once, expiring when the operator says, recorded as an ``adjust`` movement noted
``opening balance`` (the ledger stays whole: lots and movements agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loyalty.errors import InvalidPhone
from loyalty.phones import normalize_phone
from processing.server.engine import Database
from processing.server.members import card_number
from processing.server.ops.csvfile import (
    FirstLines,
    Imported,
    Row,
    RowError,
    amount,
    codes,
    day,
    log_import,
    minor,
    parsed,
)

FIELDS = ("phone", "name", "birthday", "email", "cards", "balance", "lifetime_spend", "state")
"""Our fields, in the order ``members export`` writes them."""

REQUIRED = ("phone",)

STATES = {"active": "active", "earn_only": "earn_only", "earn-only": "earn_only"}
STATES["blocked"] = "blocked"

OPENING_NOTE = "opening balance"


@dataclass
class ImportResult(Imported):
    """What an import did; ``points`` in hundredths."""

    points: int = 0


@dataclass(frozen=True)
class _Member:
    line: int
    phone: str
    name: str | None
    birthday: str | None
    email: str | None
    cards: tuple[str, ...]
    balance: int
    lifetime: int
    state: str


def _parse(row: Row, region: str) -> _Member:
    try:
        phone = normalize_phone(row.get("phone"), region)
    except InvalidPhone:
        raise RowError("phone", f"is not a {region} phone number") from None
    birthday = row.get("birthday")
    email = row.get("email")
    if email and ("@" not in email or " " in email):
        raise RowError("email", "is not an e-mail address")
    state_text = row.get("state").lower() or "active"
    if state_text not in STATES:
        raise RowError("state", "must be active, earn_only or blocked")
    cards = codes(row.get("cards"), "cards", "a card number")
    balance = row.get("balance")
    lifetime = row.get("lifetime_spend")
    return _Member(
        row.line,
        phone,
        row.get("name") or None,
        day(birthday, "birthday").isoformat() if birthday else None,
        email or None,
        cards,
        minor(amount(balance, "balance")) if balance else 0,
        minor(amount(lifetime, "lifetime_spend")) if lifetime else 0,
        STATES[state_text],
    )


def import_members(
    db: Database,
    rows: Sequence[Row],
    *,
    region: str,
    now: int,
    expires_at: int | None,
    home_store: str | None,
    operator: str,
    source: str,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportResult:
    """Add the members of ``rows`` (call inside one write transaction); ``expires_at``: when
    opening balances expire (None: never). ``progress`` is told how many rows were read."""
    result = ImportResult(rows=len(rows))
    phones = {str(r[0]) for r in db.execute("SELECT phone FROM members")}
    cards_taken = {str(r[0]) for r in db.execute("SELECT number FROM cards")}
    seen_phones, seen_cards = FirstLines("phone"), FirstLines("cards")
    new: list[_Member] = []

    def check(row: Row) -> _Member | None:
        """The member to add, or None for a phone that is a member's already."""
        member = _parse(row, region)
        seen_phones.check_one(member.phone)
        seen_phones.note([member.phone], row.line)
        if member.phone in phones:
            return None
        seen_cards.check_each(member.cards, cards_taken.__contains__, "another member's")
        seen_cards.note(member.cards, row.line)
        return member

    for member in parsed(rows, check, result.rejected, progress):
        if member is None:
            result.unchanged += 1
        else:
            new.append(member)
    if new:
        _insert(db, new, now, expires_at, home_store, cards_taken | set(seen_cards.lines))
    result.added = len(new)
    result.points = sum(m.balance for m in new)
    if not (result.added):
        return result  # the same file again: nothing changed, nothing to log
    counts = {
        "rows": result.rows,
        "added": result.added,
        "unchanged": result.unchanged,
        "rejected": len(result.rejected),
        "points": result.points,
    }
    log_import(db, now, operator, "members_import", source, counts)
    return result


def _counter(db: Database, name: str) -> int:
    row = db.execute("SELECT value FROM counters WHERE name = ?", [name]).fetchone()
    return 0 if row is None else int(row[0])


def _set_counter(db: Database, name: str, value: int) -> None:
    db.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        [name, value],
    )


def _insert(
    db: Database,
    new: Sequence[_Member],
    now: int,
    expires_at: int | None,
    home_store: str | None,
    cards_taken: set[str],
) -> None:
    """Bulk inserts, numbering members and lots as :func:`members.create_member` would."""
    id_start = _counter(db, "member_id")
    seq_start = _counter(db, "members")
    first_lot = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM lots").fetchone()[0]) + 1
    member_rows: list[tuple[object, ...]] = []
    card_rows: list[tuple[str, str]] = []
    lot_rows: list[tuple[object, ...]] = []
    movement_rows: list[tuple[object, ...]] = []
    for i, m in enumerate(new, 1):
        member_id = str(100000 + id_start + i)
        member_rows.append(
            (
                member_id,
                m.phone,
                m.name,
                m.birthday,
                m.email,
                m.state,
                m.lifetime,
                home_store,
                now,
                seq_start + i,
            )
        )
        cards = list(m.cards)
        virtual = card_number(id_start + i)
        if not cards and virtual not in cards_taken:  # a member without a card gets ours
            cards.append(virtual)
        card_rows += [(card, member_id) for card in cards]
        if m.balance:
            lot_id = first_lot + len(lot_rows)
            lot_rows.append((lot_id, member_id, m.balance, now, expires_at, now))
            movement_rows.append((member_id, m.balance, lot_id, now))
    db.conn.executemany(
        "INSERT INTO members (id, phone, name, birthday, email, state, lifetime_spend,"
        " home_store, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        member_rows,
    )
    db.conn.executemany("INSERT INTO cards (number, member_id) VALUES (?, ?)", card_rows)
    db.conn.executemany(
        "INSERT INTO lots (id, member_id, amount, remaining, active_from, expires_at, created_at)"
        " VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
        lot_rows,
    )
    db.conn.executemany(
        "INSERT INTO movements (member_id, kind, points, lot_id, created_at, note)"
        f" VALUES (?, 'adjust', ?, ?, ?, '{OPENING_NOTE}')",
        movement_rows,
    )
    _set_counter(db, "member_id", id_start + len(new))
    _set_counter(db, "members", seq_start + len(new))
