"""The demo data the seeding draws on: a catalog by category, and the named demo members.

Product names are Russian (the demo chain's shelves); prices are integer hundredths.
:mod:`processing.server.seed` writes them into the database.
"""

from __future__ import annotations

from dataclasses import dataclass

CATALOG: dict[str, list[tuple[str, int]]] = {
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
"""Products by category: (name, price in hundredths); ``seed_catalog`` cycles through them
with variants of the name (акция, эконом …) up to its target."""


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


NAMED: list[NamedMember] = [
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
