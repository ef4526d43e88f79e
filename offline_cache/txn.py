"""Write transactions and canonical JSON for the till database.

sqlite-utils' ``atomic()`` opens a deferred ``BEGIN``; a read-then-write (the outbox chain head,
a lease) must take the write lock first with ``BEGIN IMMEDIATE`` or it may fail with
SQLITE_BUSY on the lock upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlite_utils import Database


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error); a savepoint when already inside one.

    Raises whatever the body raises, after rolling back.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.conn.execute("COMMIT")


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a till record")


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces); ``Decimal`` as a string.

    Raises TypeError for floats, which would lose cents, and for other non-JSON values.
    """
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_default)


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("floats are not allowed in till records; use Decimal or str")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)
