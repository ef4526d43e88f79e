"""Seeding: a program, a demo catalog, named demo members, and many generated members fast.

``seed_demo`` is what ``till processing seed --demo`` runs: the demo program (3 %; 5 % from
15 000; 7 % from 50 000; birthday 14 %; x2 in early January; tobacco excluded; spend up to
30 %; activation after 14 days; expiry after 365), ~200 products with valid EAN-13 barcodes,
10 named members in varied states with lots, offers and coupons, and N generated members.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from sqlite_utils import Database

from loyalty.identifiers import ean_check_digit
from loyalty.program import DEMO_QR_PRIVATE_KEY, Program, demo_program
from loyalty.qrtoken import generate_keypair, public_key_of
from processing.server import ledger, members
from processing.server.context import QR_PRIVATE_KEY_SETTING, store_program
from processing.server.storage import get_setting, next_seq, set_setting

DAY = 86400

_CATALOG: dict[str, list[tuple[str, int]]] = {
    "dairy": [
        ("Молоко 3,2 % 1 л", 8990),
        ("Кефир 1 % 930 мл", 7990),
        ("Сметана 20 %", 9490),
        ("Творог 5 % 200 г", 11990),
        ("Йогурт клубничный", 5990),
        ("Сыр Российский", 29990),
        ("Масло сливочное 82 %", 18990),
        ("Ряженка 4 %", 8490),
    ],
    "bakery": [
        ("Хлеб Бородинский", 5990),
        ("Батон нарезной", 4990),
        ("Лаваш армянский", 6990),
        ("Круассан", 7990),
        ("Булочка с маком", 3990),
        ("Пряники тульские", 14990),
    ],
    "produce": [
        ("Яблоки Гренни", 15990),
        ("Бананы", 12990),
        ("Картофель", 4990),
        ("Огурцы", 19990),
        ("Помидоры", 24990),
        ("Морковь", 3990),
        ("Лук репчатый", 2990),
        ("Капуста белокочанная", 2490),
    ],
    "meat": [
        ("Куриное филе", 39990),
        ("Фарш говяжий", 49990),
        ("Колбаса докторская", 44990),
        ("Сосиски молочные", 29990),
        ("Пельмени", 34990),
    ],
    "grocery": [
        ("Гречка 900 г", 10990),
        ("Рис круглозёрный", 9990),
        ("Макароны", 7990),
        ("Сахар 1 кг", 8990),
        ("Соль", 2490),
        ("Мука пшеничная", 6990),
        ("Масло подсолнечное", 13990),
        ("Чай чёрный", 19990),
        ("Кофе молотый", 49990),
    ],
    "drinks": [
        ("Вода минеральная", 5990),
        ("Сок яблочный 1 л", 12990),
        ("Квас", 8990),
        ("Лимонад", 7990),
        ("Морс клюквенный", 10990),
    ],
    "snacks": [
        ("Шоколад молочный", 9990),
        ("Печенье овсяное", 7990),
        ("Чипсы", 12990),
        ("Семечки", 5990),
        ("Сушки", 4990),
        ("Зефир", 15990),
    ],
    "household": [
        ("Средство для посуды", 14990),
        ("Бумага туалетная", 19990),
        ("Стиральный порошок", 59990),
        ("Губки для посуды", 6990),
    ],
    "tobacco": [("Сигареты «Ява»", 18900), ("Сигареты «Петр I»", 19900), ("Зажигалка", 4900)],
}


@dataclass(frozen=True)
class NamedMember:
    """A demo member: lots are (points in hundredths, days since activation, days to expiry);
    frozen lots are (points, days until activation); offers (title, auto); coupons (code, title).
    """

    phone: str
    name: str
    state: str
    lifetime: int
    lots: list[tuple[int, int, int]]
    frozen: list[tuple[int, int]]
    offers: list[tuple[str, bool]]
    coupons: list[tuple[str, str]]
    birthday_in: int | None = None


_NAMED: list[NamedMember] = [
    NamedMember(
        phone="+79161234567",
        name="Анна Смирнова",
        state="active",
        lifetime=8_200_00,
        lots=[(1200_00, -100, 265), (300_00, -400, 20)],
        frozen=[(45_00, 10)],
        offers=[("Скидка 10 % на молочное", True)],
        coupons=[("WELCOME10", "Приветственный")],
    ),
    NamedMember(
        phone="+79161234568",
        name="Иван Петров",
        state="active",
        lifetime=23_500_00,
        lots=[(2500_00, -30, 335)],
        frozen=[],
        offers=[],
        coupons=[],
    ),
    NamedMember(
        phone="+79161234569",
        name="Мария Кузнецова",
        state="active",
        lifetime=64_000_00,
        lots=[(5600_00, -200, 165), (80_00, -380, 5)],
        frozen=[(120_00, 3)],
        offers=[("x2 баллов на кофе", False)],
        coupons=[("GOLD500", "Золотой клиент")],
    ),
    NamedMember(
        phone="+79161234570",
        name="Олег Иванов",
        state="earn_only",
        lifetime=1_200_00,
        lots=[(150_00, -20, 345)],
        frozen=[],
        offers=[],
        coupons=[],
    ),
    NamedMember(
        phone="+79161234571",
        name="Сергей Волков",
        state="blocked",
        lifetime=9_900_00,
        lots=[(700_00, -60, 305)],
        frozen=[],
        offers=[],
        coupons=[],
    ),
    NamedMember(
        phone="+79161234572",
        name="Елена Соколова",
        state="active",
        lifetime=3_000_00,
        lots=[],
        frozen=[(90_00, 12)],
        offers=[],
        coupons=[],
        birthday_in=1,
    ),
    NamedMember(
        phone="+79161234573",
        name="Дмитрий Морозов",
        state="active",
        lifetime=0,
        lots=[],
        frozen=[],
        offers=[],
        coupons=[],
    ),
    NamedMember(
        phone="+79161234574",
        name="Ольга Новикова",
        state="active",
        lifetime=14_800_00,
        lots=[(980_00, -355, 10), (20_00, -10, 355)],
        frozen=[],
        offers=[("Бонус 50 баллов за чек от 1000 ₽", True)],
        coupons=[],
    ),
    NamedMember(
        phone="+380501234567",
        name="Тарас Шевченко",
        state="active",
        lifetime=5_500_00,
        lots=[(400_00, -50, 315)],
        frozen=[],
        offers=[],
        coupons=[],
    ),
    NamedMember(
        phone="+77011234567",
        name="Айгерім Нұрланқызы",
        state="active",
        lifetime=51_000_00,
        lots=[(3100_00, -90, 275)],
        frozen=[],
        offers=[],
        coupons=[("KZ2027", "Қош келдіңіз")],
    ),
]


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
    ensure_program(db, demo_program(), private, now)


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
        for category, items in _CATALOG.items():
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


def seed_named(db: Database, now: int) -> list[str]:
    """The 10 named demo members; returns their ids (skips phones already present)."""
    ids: list[str] = []
    today = datetime.fromtimestamp(now, UTC).date()
    for spec in _NAMED:
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
            home_store="S1",
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
                "S1",
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


def seed_demo(db: Database, now: int, generated: int = 0) -> dict[str, int]:
    """Everything ``seed --demo`` creates; returns counts."""
    seed_program(db, now, demo=True)
    products = seed_catalog(db)
    named = seed_named(db, now)
    made = seed_generated(db, generated, now)
    return {"products": products, "named_members": len(named), "generated_members": made}
