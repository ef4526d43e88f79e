"""Wire types for money, points and quantities: Decimal strings on the wire, never floats.

Every amount crosses the wire as a JSON string such as ``"1234.50"``. A JSON number is
refused (a float would already have lost precision), and so are NaN, infinities, exponents
and more decimal places than the type allows. The server stores integer minor units.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, WithJsonSchema
from pydantic_core import core_schema

_MONEY_RE = re.compile(r"-?\d{1,12}(\.\d{1,2})?")
_QUANTITY_RE = re.compile(r"\d{1,6}(\.\d{1,3})?")

MONEY_PATTERN = r"^-?\d{1,12}(\.\d{1,2})?$"
QUANTITY_PATTERN = r"^\d{1,6}(\.\d{1,3})?$"


def _parser(pattern: re.Pattern[str], what: str) -> Any:
    match = pattern.fullmatch

    def parse(value: object) -> Decimal:
        if type(value) is str and match(value.strip()):  # every valid request's amounts
            return Decimal(value.strip())
        # bool is an int subclass; a JSON true must not become 1 point.
        if isinstance(value, (bool, float)):
            raise ValueError(f'{what} must be a decimal string such as "12.50", not a number')
        if isinstance(value, int):
            # A JSON integer is a number too (the schema says string): refused like a float.
            raise ValueError(f'{what} must be a decimal string such as "12.50", not a number')
        if isinstance(value, Decimal):
            text = format(value, "f") if value.is_finite() else "nan"
        elif isinstance(value, str):
            text = value.strip()
        else:
            raise ValueError(f"{what} must be a decimal string")
        if not pattern.fullmatch(text):
            raise ValueError(f"{what} must be a decimal string matching {pattern.pattern}")
        try:
            return Decimal(text)
        except InvalidOperation as exc:  # unreachable after the regex, kept for safety
            raise ValueError(f"{what} is not a decimal") from exc

    return parse


def _to_str(value: Decimal) -> str:
    return format(value, "f")


class _DecimalText:
    """A Decimal that crosses the wire as a string matching ``pattern``.

    From JSON text (``model_validate_json``: the server's hot routes, answers read back) the
    check is pydantic's own: a JSON string, whitespace stripped, the pattern matched in its
    Rust core, then ``Decimal`` of it: no Python function per amount, which was a fifth of
    validating a 30-line check. From Python objects (FastAPI's validation of a parsed body,
    models built in code) ``parse`` decides, and gives the one-sentence messages; both refuse
    a JSON number and accept the same strings."""

    def __init__(self, pattern: str, parse: Any) -> None:
        self.pattern = pattern
        self.parse = parse

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.json_or_python_schema(
            json_schema=core_schema.no_info_after_validator_function(
                Decimal, core_schema.str_schema(pattern=self.pattern, strip_whitespace=True)
            ),
            python_schema=core_schema.no_info_plain_validator_function(self.parse),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _to_str, return_schema=core_schema.str_schema()
            ),
        )


Money = Annotated[
    Decimal,
    _DecimalText(MONEY_PATTERN, _parser(_MONEY_RE, "amount")),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["150.00"]}),
]
"""Money or points: up to 12 integer digits and 2 decimals, possibly negative."""

Quantity = Annotated[
    Decimal,
    _DecimalText(QUANTITY_PATTERN, _parser(_QUANTITY_RE, "quantity")),
    WithJsonSchema({"type": "string", "pattern": QUANTITY_PATTERN, "examples": ["1", "0.455"]}),
]
"""A line quantity: up to 6 integer digits and 3 decimals (weighed goods), never negative."""


def to_minor(value: Decimal) -> int:
    """Integer hundredths of ``value`` (exact: wire amounts carry at most 2 decimals).

    Raises ValueError when ``value`` has more than two decimal places.
    """
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than two decimal places")
    return int(scaled)


def from_minor(minor: int) -> Decimal:
    """The Decimal for ``minor`` hundredths, always with two decimal places."""
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))
