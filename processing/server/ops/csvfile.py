"""Reading an operator's CSV export (1C, a spreadsheet): its columns mapped to our fields by
header names, its rows numbered as the file's lines, its money read exactly.

1C and spreadsheets write ``;`` or ``,`` or tabs, a BOM, and decimal commas (``1 234,50``):
the delimiter is found from the header line, the BOM dropped, and amounts read as Decimals
(never floats). Raises :class:`CsvError` (one sentence) for a file that cannot be read at all;
a bad row is the caller's to reject by its line number: :func:`parsed` runs a row check over
every row and keeps each :class:`RowError` as a :class:`Rejected` line, and :class:`FirstLines`
names the earlier line a repeated value comes from.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from processing.server.engine import Database

T = TypeVar("T")


class CsvError(Exception):
    """The file cannot be read as the CSV the command needs."""


class RowError(Exception):
    """One value of a row is wrong: ``field`` and a sentence without the value (values may be
    phone numbers, which never reach logs)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Rejected:
    """A row left out: its line in the file and what is wrong (no values)."""

    line: int
    problem: str


@dataclass
class Imported:
    """What an import of a file did: its data rows, those added, those already there as they
    are, and those rejected (each by its line)."""

    rows: int = 0
    added: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = dataclasses.field(default_factory=list)


def log_import(
    db: Database, now: int, operator: str, action: str, source: str, counts: Mapping[str, int]
) -> None:
    """Keep the import of file ``source`` in ``operator_log`` (reason ``import``), with its
    ``counts``; an import that changed nothing is not logged (the caller's to skip)."""
    db.execute(
        "INSERT INTO operator_log (at, operator, action, subject, reason, details)"
        " VALUES (?, ?, ?, ?, 'import', ?)",
        [now, operator, action, source, json.dumps(dict(counts))],
    )


@dataclass(frozen=True)
class Row:
    """One data row: the file's line number and our fields' values (absent or blank: "")."""

    line: int
    values: Mapping[str, str]

    def get(self, field: str) -> str:
        return self.values.get(field, "").strip()


def column_map(fields: Sequence[str], given: Sequence[str]) -> dict[str, str]:
    """Our field → the file's header, from ``FIELD=HEADER`` pairs (others: the field's name).
    Raises CsvError for a pair that is not ``FIELD=HEADER`` or names an unknown field."""
    mapping = {f: f for f in fields}
    for pair in given:
        field, sep, header = pair.partition("=")
        field, header = field.strip(), header.strip()
        if not sep or not header:
            raise CsvError(f"--column {pair!r} is not FIELD=HEADER.")
        if field not in mapping:
            raise CsvError(f"--column {pair!r}: {field!r} is not one of {', '.join(fields)}.")
        mapping[field] = header
    return mapping


def read_rows(
    path: Path, mapping: Mapping[str, str], required: Sequence[str], encoding: str
) -> list[Row]:
    """Every data row of ``path`` with ``mapping``'s fields (our field → header). Raises
    CsvError when the file cannot be read or a required column is missing."""
    try:
        text = path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError, LookupError) as exc:
        raise CsvError(f"Cannot read {path}: {exc}") from None
    return rows_of_text(text, mapping, required, str(path))


def rows_of_text(
    text: str, mapping: Mapping[str, str], required: Sequence[str], path: str
) -> list[Row]:
    """:func:`read_rows` of a text already read (``path``: its name in messages), as the
    operator API receives a file in a request body."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    if not lines:
        raise CsvError(f"{path} is empty; it needs a header line.")
    header_line = lines[0]
    delimiter = max(";,\t", key=header_line.count)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise CsvError(f"{path}: line 1: {exc}") from None
    index: dict[str, int] = {}
    for field, name in mapping.items():
        if name in header:
            index[field] = header.index(name)
    missing = [mapping[f] for f in required if f not in index]
    if missing:
        raise CsvError(
            f"{path} has no column {', '.join(repr(m) for m in missing)}"
            f" (its header: {', '.join(header)}); name it with --column FIELD=HEADER."
        )
    return list(_rows(reader, index, path))


def _rows(reader: Iterator[list[str]], index: Mapping[str, int], path: str) -> Iterator[Row]:
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvError(f"{path}: line {reader.line_num}: {exc}") from None  # type: ignore[attr-defined]
        if not any(c.strip() for c in cells):
            continue  # a blank line
        values = {f: cells[i] if i < len(cells) else "" for f, i in index.items()}
        yield Row(reader.line_num, values)  # type: ignore[attr-defined]


_SPACES = re.compile(r"[\s\u00a0\u202f']")


def amount(text: str, field: str) -> Decimal:
    """A non-negative amount with at most two decimals (``1 234,50`` or ``1234.50``)."""
    cleaned = _SPACES.sub("", text).replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise RowError(field, "is not a number") from None
    if not value.is_finite() or value < 0:
        raise RowError(field, "must be zero or more")
    if value != value.quantize(Decimal("0.01")):
        raise RowError(field, "has more than two decimals")
    return value


def minor(value: Decimal) -> int:
    """Hundredths of ``value`` (exact: :func:`amount` allows two decimals)."""
    return int(value * 100)


def day(text: str, field: str) -> date:
    """A date written 2027-01-31, 31.01.2027 or 31/01/2027 (sliced, not strptime: a large
    file has one per row)."""
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date(int(text[:4]), int(text[5:7]), int(text[8:]))
        if len(text) == 10 and text[2] == text[5] and text[2] in "./":
            return date(int(text[6:]), int(text[3:5]), int(text[:2]))
    except ValueError:
        pass
    raise RowError(field, "is not a date like 2027-01-31 or 31.01.2027")


_CODES = re.compile(r"[\s,;|]+")


def codes(text: str, field: str, what: str) -> tuple[str, ...]:
    """The digit codes of one cell (barcodes, card numbers), split on spaces, commas,
    semicolons or bars; each 6 to 20 digits (``what``: "a barcode", in the message)."""
    found = tuple(c for c in _CODES.split(text) if c)
    for code in found:
        if not code.isdigit() or not 6 <= len(code) <= 20:
            raise RowError(field, f"{what} must be 6 to 20 digits")
    return found


PROGRESS_STEP = 1000
"""Rows read between two ``progress`` calls of :func:`parsed`."""


def parsed(
    rows: Sequence[Row],
    check: Callable[[Row], T],
    rejected: list[Rejected],
    progress: Callable[[int], None],
) -> Iterator[T]:
    """``check(row)`` of each row, in file order; a row whose check raises RowError is
    added to ``rejected`` (by its line) and left out. ``progress`` is told how many rows were
    read, every :data:`PROGRESS_STEP` rows and once at the end."""
    for n, row in enumerate(rows, 1):
        if n % PROGRESS_STEP == 0:
            progress(PROGRESS_STEP)
        try:
            value = check(row)
        except RowError as exc:
            rejected.append(Rejected(row.line, str(exc)))
            continue
        yield value
    progress(len(rows) % PROGRESS_STEP)


class FirstLines:
    """The line of the file that first gave each value of field ``name``, so that a row
    repeating it is rejected naming that line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[str, int] = {}

    def check_one(self, value: str) -> None:
        """RowError when an earlier row gave ``value`` (a field of one value: a phone, a
        sku)."""
        if value in self.lines:
            raise RowError(self.name, f"the same as line {self.lines[value]}'s")

    def check_each(self, values: Iterable[str], taken: Callable[[str], bool], whose: str) -> None:
        """RowError for the first of ``values`` an earlier row gave, or that ``taken`` says
        the database holds for someone else (``whose``: "another member's")."""
        for value in values:
            if value in self.lines:
                raise RowError(self.name, f"{value} is already line {self.lines[value]}'s")
            if taken(value):
                raise RowError(self.name, f"{value} is already {whose}")

    def note(self, values: Iterable[str], line: int) -> None:
        for value in values:
            self.lines[value] = line
