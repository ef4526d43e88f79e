"""Typed config fields: conversion as pydantic's lax mode did it, limits and rules per field.

:mod:`terminal.config` declares its sections as frozen dataclasses whose annotations carry
:class:`Bounds`, :class:`Length` and :class:`Check`; :func:`converters` turns each annotation into
one function that converts a raw TOML or environment value, checks it, and raises
:class:`Invalid` with the sentence that follows ``file: section.key:`` in a problem line.
Written here rather than with pydantic because the config is read before the till's first frame,
and importing pydantic cost about a third of a second of that start-up.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints


class SecretStr:
    """A string kept out of ``repr``/``str`` (logs, tracebacks); read it with get_secret_value()."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Invalid(ValueError):
    """One value is wrong; the message is what follows ``file: section.key: ``."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """Limits of an int or Decimal field, checked after conversion."""

    gt: int | None = None
    ge: int | None = None
    le: int | None = None

    def apply(self, raw: Any, value: Any) -> Any:
        if self.gt is not None and not value > self.gt:
            broken = f"greater than {self.gt}"
        elif self.ge is not None and not value >= self.ge:
            broken = f"greater than or equal to {self.ge}"
        elif self.le is not None and not value <= self.le:
            broken = f"less than or equal to {self.le}"
        else:
            return value
        raise Invalid(f"{raw!r} is out of range (input should be {broken})")


@dataclass(frozen=True, slots=True)
class Length:
    """Limits of a text field's length in characters."""

    min: int | None = None
    max: int | None = None

    def apply(self, raw: Any, value: str) -> str:
        if self.min is not None and len(value) < self.min:
            words, limit = "at least", self.min
        elif self.max is not None and len(value) > self.max:
            words, limit = "at most", self.max
        else:
            return value
        plural = "" if limit == 1 else "s"
        raise Invalid(
            f"{raw!r} has the wrong length (string should have {words} {limit} character{plural})"
        )


@dataclass(frozen=True, slots=True)
class Check:
    """A rule beyond type and limits: returns the value to keep, or raises ValueError saying why."""

    rule: Callable[[Any], Any]

    def apply(self, raw: Any, value: Any) -> Any:
        try:
            return self.rule(value)
        except ValueError as exc:
            raise Invalid(str(exc)) from None


Converter = Callable[[Any], Any]
_CONVERTERS: dict[type, dict[str, Converter]] = {}


def converters(cls: type) -> dict[str, Converter]:
    """One converter per field of ``cls``, built from its annotation once."""
    found = _CONVERTERS.get(cls)
    if found is None:
        hints = get_type_hints(cls, include_extras=True)
        found = {f.name: _converter(hints[f.name]) for f in fields(cls)}
        _CONVERTERS[cls] = found
    return found


def _converter(hint: Any) -> Converter:
    rules: tuple[Bounds | Length | Check, ...] = ()
    if get_origin(hint) is Annotated:
        hint, *extra = get_args(hint)
        rules = tuple(extra)
    convert = _type_converter(hint)
    if not rules:
        return convert

    def checked(raw: Any) -> Any:
        value = convert(raw)
        for rule in rules:
            value = rule.apply(raw, value)
        return value

    return checked


def _type_converter(hint: Any) -> Converter:
    if get_origin(hint) is Literal:
        return _literal(get_args(hint))
    if isinstance(hint, types.UnionType) or get_origin(hint) is Union:
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        convert = _type_converter(inner)
        return lambda raw: None if raw is None else convert(raw)
    simple: dict[Any, Converter] = {
        str: _to_str,
        int: _to_int,
        Decimal: _to_decimal,
        bool: _to_bool,
        SecretStr: _to_secret,
    }
    return simple[hint]


def _to_str(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    raise Invalid(f"{raw!r} is not text")


def _to_secret(raw: Any) -> SecretStr:
    if isinstance(raw, SecretStr):
        return raw
    return SecretStr(_to_str(raw))


_INT_TEXT = re.compile(r"([+-]?[0-9]+(?:_[0-9]+)*)(?:\.0*)?")


def _finite(number: float | Decimal) -> bool:
    return number.is_finite() if isinstance(number, Decimal) else math.isfinite(number)


def _not_finite(raw: Any) -> Invalid:
    return Invalid(f"{raw!r}: Input should be a finite number")


def _to_int(raw: Any) -> int:
    if isinstance(raw, int):  # bool too: true is 1, as pydantic's lax mode had it
        return int(raw)
    if isinstance(raw, float | Decimal):
        if not _finite(raw):
            raise _not_finite(raw)
        if raw == int(raw):
            return int(raw)
    elif isinstance(raw, str):
        match = _INT_TEXT.fullmatch(raw.strip())
        if match:
            return int(match.group(1))
    raise Invalid(f"{raw!r} is not a whole number")


def _to_decimal(raw: Any) -> Decimal:
    if isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        number = Decimal(raw)
    elif isinstance(raw, float):
        number = Decimal(str(raw))
    elif isinstance(raw, str):
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:
            raise Invalid(f"{raw!r} is not a number") from None
    else:
        raise Invalid(f"{raw!r} is not a number")
    if not number.is_finite():
        raise _not_finite(raw)
    return number


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float | Decimal) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.lower() in _TRUE | _FALSE:
        return raw.lower() in _TRUE
    raise Invalid(f"{raw!r} is not true or false")


def _literal(choices: tuple[Any, ...]) -> Converter:
    shown = [repr(choice) for choice in choices]
    expected = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    numbers = all(isinstance(choice, int) for choice in choices)

    def convert(raw: Any) -> Any:
        value = raw
        if numbers and isinstance(raw, str) and _INT_TEXT.fullmatch(raw.strip()):
            # Every environment value is text: TILL_PRINTER__COLUMNS=42 means 42.
            value = _to_int(raw)
        elif numbers and isinstance(raw, int | float | Decimal):  # 42.0 and true (1) pass
            with_fraction = isinstance(raw, float | Decimal) and not (
                _finite(raw) and raw == int(raw)
            )
            value = None if with_fraction else int(raw)
        for choice in choices:
            if type(choice) is type(value) and choice == value:
                return choice
        raise Invalid(f"{raw!r} is not one of {expected}")

    return convert
