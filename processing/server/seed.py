"""Seeding: a program, a demo catalog, named demo members, and many generated members fast.

The demo catalog and named members themselves are in :mod:`processing.server.seed_data`.

``seed_demo`` is what ``till processing seed --demo`` runs: the demo program (3 %; 5 % from
15 000; 7 % from 50 000; birthday 14 %; x2 in early January; tobacco excluded; spend up to
30 %; activation after 14 days; expiry after 365), ~200 products with valid EAN-13 barcodes,
10 named members in varied states with lots, offers and coupons, and N generated members.
Demo members belong to store :data:`DEMO_STORE`, which can be given a timezone (the machine's,
by ``seed --demo``).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from loyalty.gs1 import ean_check_digit
from loyalty.program import DEMO_QR_PRIVATE_KEY, Program, demo_program
from loyalty.qrtoken import generate_keypair, public_key_of
from processing.server import ledger, members, zones
from processing.server.context import QR_PRIVATE_KEY_SETTING, store_program
from processing.server.engine import Database
from processing.server.ops.program_file import example_program
from processing.server.seed_data import CATALOG, NAMED
from processing.server.storage import get_setting, next_seq, set_setting

DAY = 86400
DEMO_STORE = "S1"
"""The home store of the demo members (the store of PROTOCOL.md's examples)."""


def ensure_program(db: Database, program: Program, private_key: str, now: int) -> None:
    """Store ``program`` (with the public half of ``private_key``) unless a program exists."""
    if db.execute("SELECT COUNT(*) FROM programs").fetchone()[0]:
        return
    program = replace(program, qr_public_key=public_key_of(private_key))
    store_program(db, program, now)
    set_setting(db, QR_PRIVATE_KEY_SETTING, private_key)


def seed_program(db: Database, now: int, *, demo: bool) -> None:
    """The demo program with the (public, demo-only) demo key, or it with a fresh key pair."""
    if get_setting(db, QR_PRIVATE_KEY_SETTING) is not None:
        return
    private = DEMO_QR_PRIVATE_KEY if demo else generate_keypair()[0]
    # The demo runs the commented example program file (program.toml beside config.toml).
    ensure_program(db, (example_program() if demo else None) or demo_program(), private, now)


def ean13(prefix: str, number: int) -> str:
    body = f"{prefix}{number:0{12 - len(prefix)}d}"
    return body + ean_check_digit(body)


def seed_catalog(db: Database, target: int = 200) -> int:
    """About ``target`` products with Russian names and EAN-13 barcodes (prefix 460)."""
    if db.execute("SELECT COUNT(*) FROM products").fetchone()[0]:
        return 0
    products: list[tuple[object, ...]] = []
    barcodes: list[tuple[str, str]] = []
    variants = [
        "",
        " (акция)",
        " эконом",
        " премиум",
        " большой",
        " малый",
        " фермерский",
        " органик",
        " семейный",
        " мини",
    ]
    number = 0
    while len(products) < target:
        for category, items in CATALOG.items():
            for name, price in items:
                variant = variants[(number // 60) % len(variants)]
                if len(products) >= target:
                    break
                number += 1
                sku = f"SKU{number:05d}"
                products.append((sku, name + variant, category, price + (number % 7) * 100, number))
                barcodes.append((ean13("460", 7_000_000 + number), sku))
    db.conn.executemany(
        "INSERT INTO products (sku, name, category, price, active, seq) VALUES (?, ?, ?, ?, 1, ?)",
        products,
    )
    db.conn.executemany("INSERT INTO barcodes (barcode, sku) VALUES (?, ?)", barcodes)
    db.execute(
        "INSERT INTO counters (name, value) VALUES ('products', ?)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        [number],
    )
    return len(products)


def seed_named(db: Database, now: int, zone: tzinfo = UTC) -> list[str]:
    """The 10 named demo members; returns their ids (skips phones already present). Birthdays
    and offer dates count from today on ``zone``'s calendar (the demo store's)."""
    ids: list[str] = []
    today = datetime.fromtimestamp(now, zone).date()
    for spec in NAMED:
        phone = spec.phone
        if members.by_phone(db, phone) is not None:
            continue
        birthday_in = spec.birthday_in
        birthday = (
            date(1990, *(today + timedelta(days=birthday_in)).timetuple()[1:3])
            if birthday_in is not None
            else date(1985, 5, 17)
        )
        member_id = members.create_member(
            db,
            phone=phone,
            now=now,
            name=spec.name,
            birthday=birthday,
            state=spec.state,
            lifetime_spend=spec.lifetime,
            home_store=DEMO_STORE,
        )
        for points, age_days, expires_in in spec.lots:
            ledger.add_lot(
                db,
                member_id,
                points,
                kind="earn",
                now=now,
                active_from=now + age_days * DAY,
                expires_at=now + expires_in * DAY,
                note="demo seed",
            )
        for points, active_in in spec.frozen:
            ledger.add_lot(
                db,
                member_id,
                points,
                kind="earn",
                now=now,
                active_from=now + active_in * DAY,
                expires_at=now + (active_in + 365) * DAY,
                note="demo seed",
            )
        for i, (title, auto) in enumerate(spec.offers):
            db.execute(
                "INSERT INTO offers (id, member_id, title, description, valid_to, auto_apply)"
                " VALUES (?, ?, ?, '', ?, ?)",
                [
                    f"OF-{member_id}-{i}",
                    member_id,
                    title,
                    (today + timedelta(days=30)).isoformat(),
                    int(auto),
                ],
            )
        for code, title in spec.coupons:
            db.execute(
                "INSERT INTO coupons (code, member_id, title, kind, value, valid_to)"
                " VALUES (?, ?, ?, 'points', 10000, ?)",
                [code, member_id, title, (today + timedelta(days=60)).isoformat()],
            )
        ids.append(member_id)
    return ids


def seed_generated(db: Database, count: int, now: int, seed: int = 7) -> int:
    """``count`` generated members (+7 900 …) with one active lot each, in bulk inserts."""
    if count <= 0:
        return 0
    rng = random.Random(seed)
    start = int(
        db.execute(
            "SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'member_id'"
        ).fetchone()[0]
    )
    seq_start = next_seq(db, "members")
    taken = {str(r[0]) for r in db.execute("SELECT phone FROM members WHERE phone LIKE '+7900%'")}
    member_rows: list[tuple[object, ...]] = []
    card_rows: list[tuple[str, str]] = []
    lot_rows: list[tuple[object, ...]] = []
    phone_number = 0
    for i in range(1, count + 1):
        seq = start + i
        member_id = str(100000 + seq)
        phone_number += 1
        phone = f"+7900{phone_number:07d}"
        while phone in taken:
            phone_number += 1
            phone = f"+7900{phone_number:07d}"
        state = "active" if rng.random() > 0.03 else rng.choice(["earn_only", "blocked"])
        member_rows.append(
            (
                member_id,
                phone,
                None,
                None,
                None,
                state,
                rng.randrange(0, 80_000_00),
                DEMO_STORE,
                now,
                seq_start + i,
            )
        )
        card_rows.append((members.card_number(seq), member_id))
        points = rng.randrange(0, 3000) * 100
        if points:
            lot_rows.append((member_id, points, now - 30 * DAY, now + 300 * DAY, now))
    db.conn.executemany(
        "INSERT INTO members (id, phone, name, birthday, email, state, lifetime_spend,"
        " home_store, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        member_rows,
    )
    db.conn.executemany("INSERT INTO cards (number, member_id) VALUES (?, ?)", card_rows)
    first_lot = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM lots").fetchone()[0]) + 1
    db.conn.executemany(
        "INSERT INTO lots (member_id, amount, remaining, active_from, expires_at, created_at)"
        " VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
        lot_rows,
    )
    db.conn.executemany(
        "INSERT INTO movements (member_id, kind, points, lot_id, created_at, note)"
        " VALUES (?, 'earn', ?, ?, ?, 'generated')",
        [(r[0], r[1], first_lot + n, now) for n, r in enumerate(lot_rows)],
    )
    db.execute("UPDATE counters SET value = ? WHERE name = 'member_id'", [start + count])
    db.execute("UPDATE counters SET value = ? WHERE name = 'members'", [seq_start + count])
    if db.execute("SELECT COUNT(*) FROM counters WHERE name = 'member_id'").fetchone()[0] == 0:
        db.execute("INSERT INTO counters (name, value) VALUES ('member_id', ?)", [start + count])
    return count


def seed_demo(
    db: Database, now: int, generated: int = 0, timezone: str | None = None
) -> dict[str, int]:
    """Everything ``seed --demo`` creates; returns counts. ``timezone`` (IANA) is given to the
    demo store unless it already has one (raises zones.UnknownTimezone for an unknown one)."""
    if timezone is not None:
        zones.set_store_timezone(db, DEMO_STORE, timezone, replace=False)
    own = zones.store_timezone(db, DEMO_STORE)
    seed_program(db, now, demo=True)
    products = seed_catalog(db)
    named = seed_named(db, now, zones.stored(own, UTC))
    made = seed_generated(db, generated, now)
    return {"products": products, "named_members": len(named), "generated_members": made}
