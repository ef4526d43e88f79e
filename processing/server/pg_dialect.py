"""The domain's SQLite-dialect SQL, as psycopg and PostgreSQL take it.

The domain writes every statement once, for SQLite: ``?`` placeholders (``?1``, ``?2`` for a
value used twice) and a few SQLite spellings. :func:`translate` rewrites a statement's text for
psycopg (once per text), :func:`params` its parameters, and :class:`IntegralNumeric` loads the
NUMERIC that PostgreSQL's SUM() of a BIGINT gives as the int SQLite gives.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

from psycopg.types.numeric import NumericLoader

# SQLite spellings the domain uses and PostgreSQL spells otherwise (exact text, no parsing).
_SPELLINGS = (
    ("group_concat(", "string_agg("),
    ("char(31)", "chr(31)"),
    ("MAX(0, ", "GREATEST(0, "),
    # A held check's settlement, read out of its stored calculation (settle._SETTLEMENT).
    ("json_extract(calculation, '$.pay_in_money')", "(calculation::jsonb ->> 'pay_in_money')"),
    ("json_extract(calculation, '$.coupons')", "((calculation::jsonb -> 'coupons')::text)"),
)
_NUMBERED = re.compile(r"\?(\d+)")


@lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, bool]:
    """``sql`` with psycopg placeholders, and whether they are numbered (``?1`` → ``%(p1)s``,
    values passed by name). ``%`` is doubled; nothing inside quotes is a placeholder."""
    out: list[str] = []
    numbered = False
    quote = ""
    i = 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = ""
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            match = _NUMBERED.match(sql, i)
            if match:
                numbered = True
                out.append(f"%(p{match.group(1)})s")
                i = match.end()
                continue
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
        i += 1
    text = "".join(out)
    for sqlite, postgres in _SPELLINGS:
        text = text.replace(sqlite, postgres)
    return text, numbered


def params(parameters: Any, numbered: bool) -> Any:
    if parameters is None:
        values: list[Any] = []
    elif isinstance(parameters, dict):
        return parameters
    else:
        # SQLite stores a bool as 0/1 in an INTEGER column; PostgreSQL would refuse it.
        values = [int(v) if isinstance(v, bool) else v for v in parameters]
    if numbered:
        return {f"p{n}": v for n, v in enumerate(values, start=1)}
    return values


class IntegralNumeric(NumericLoader):
    """SUM() of BIGINT columns is NUMERIC in PostgreSQL: load whole numbers as int, as SQLite
    returns them (the schema stores no fractions: amounts are integer minor units)."""

    def load(self, data: Any) -> Any:
        value = super().load(data)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return value
