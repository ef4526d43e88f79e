"""Reading plain dicts (parsed JSON, SQLite JSON columns) back into typed values, strictly.

Decimals travel as strings (an int is accepted, a float never is), dates and datetimes as ISO
strings, enums by value. Unknown keys are errors, so a typo in a program snapshot is caught
instead of silently ignored. Every problem raises the error class the caller names, with the
dotted path of the field.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from loyalty.errors import LoyaltyError

E = TypeVar("E", bound=Enum)
_MISSING: Any = object()


def decimal_text(value: Decimal) -> str:
    """``value`` as the string JSON carries (no exponent for ordinary amounts)."""
    return format(value, "f")


class DictReader:
    """Typed, path-aware access to one dict; call :meth:`finish` to reject unknown keys."""

    def __init__(self, data: Any, path: str, error: type[LoyaltyError]) -> None:
        if not isinstance(data, dict):
            raise error(f"{path} must be an object, not {type(data).__name__}.")
        self._data: dict[str, Any] = data
        self._path = path
        self._error = error
        self._seen: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self._data:
            return self._data[key]
        if default is _MISSING:
            raise self._error(f"{self._path}.{key} is missing.")
        return default

    def fail(self, key: str, problem: str) -> LoyaltyError:
        """The caller's error naming ``key``, to raise."""
        return self._error(f"{self._path}.{key}: {problem}")

    def decimal(self, key: str, default: Any = _MISSING) -> Decimal:
        value = self._get(key, default)
        return self._to_decimal(key, value)

    def optional_decimal(self, key: str) -> Decimal | None:
        value = self._get(key, None)
        return None if value is None else self._to_decimal(key, value)

    def _to_decimal(self, key: str, value: Any) -> Decimal:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            try:
                result = Decimal(value)
            except InvalidOperation:
                raise self.fail(key, f"{value!r} is not a number.") from None
        else:
            raise self.fail(key, f"{value!r} must be a decimal string, not {type(value).__name__}.")
        if not result.is_finite():
            raise self.fail(key, f"{value!r} is not a finite number.")
        return result

    def integer(self, key: str, default: Any = _MISSING) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"{value!r} must be a whole number.")
        return value

    def optional_int(self, key: str) -> int | None:
        value = self._get(key, None)
        return None if value is None else self.integer(key)

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, f"{value!r} must be text.")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, None)
        return None if value is None else self.text(key)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"{value!r} must be true or false.")
        return value

    def day(self, key: str, default: Any = _MISSING) -> date:
        value = self._get(key, default)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.fail(key, f"{value!r} is not a date like 2027-01-05.") from None

    def optional_day(self, key: str) -> date | None:
        value = self._get(key, None)
        return None if value is None else self.day(key)

    def moment(self, key: str, default: Any = _MISSING) -> datetime:
        value = self._get(key, default)
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.fail(key, f"{value!r} is not an ISO date and time.") from None
        if moment.tzinfo is None:
            raise self.fail(key, f"{value!r} has no timezone offset.")
        return moment

    def str_tuple(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of text values.")
        return tuple(value)

    def integer_list(self, key: str) -> list[int]:
        value = self._get(key, [])
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, "must be a list of whole numbers.")
        return list(value)

    def enum(self, key: str, cls: type[E], default: Any = _MISSING) -> E:
        value = self._get(key, default)
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in cls)
            raise self.fail(key, f"{value!r} is not one of {choices}.") from None

    def sub(self, key: str, default: Any = _MISSING) -> DictReader:
        return DictReader(self._get(key, default), f"{self._path}.{key}", self._error)

    def optional_sub(self, key: str) -> DictReader | None:
        value = self._get(key, None)
        return None if value is None else DictReader(value, f"{self._path}.{key}", self._error)

    def items(self, key: str) -> list[DictReader]:
        value = self._get(key, [])
        if not isinstance(value, list | tuple):
            raise self.fail(key, "must be a list.")
        return [DictReader(v, f"{self._path}.{key}[{i}]", self._error) for i, v in enumerate(value)]

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default)

    def finish(self) -> None:
        """Raise the caller's error when the dict has keys nobody asked for."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise self._error(f"{self._path} has unknown keys: {', '.join(unknown)}.")
