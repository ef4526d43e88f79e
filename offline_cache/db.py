"""Opening the till's own SQLite database: permissions, durability, checks and migrations.

Every connection is WAL with ``synchronous=FULL`` (a commit is on disk when it returns) and a
busy timeout, so the UI's reader connections and the sync worker's writer can share the file.
Open one ``Database`` per thread: each call to :func:`open_database` makes a new connection.

No file of the database is ever opened except through SQLite. POSIX locks belong to the
process, and closing *any* descriptor of the file drops all of the process's locks on it: a
header read with ``open()``/``close()`` beside a live connection lets another process (``till
status``) believe it is the last user, checkpoint and unlink the WAL under the app's feet, and
the app's later commits go to a deleted file (sqlite.org/howtocorrupt.html §2.2). SQLite
itself refuses a file that is not a database ("file is not a database") without writing to it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from offline_cache.errors import CorruptDatabase, NewerSchema
from offline_cache.schema import MIGRATIONS, known_migrations

BUSY_TIMEOUT_S = 5.0


def open_database(path: Path | str, *, integrity_check: bool = False) -> Database:
    """Open (creating it with mode 0600 if absent) and migrate the till database at ``path``.

    ``integrity_check`` also runs ``PRAGMA quick_check`` over every page (slow on a big member
    cache; the terminal does it once at start-up).

    Raises ``CorruptDatabase`` when the file is not a readable SQLite database and
    ``NewerSchema`` when a newer till migrated it; in both cases the file is left as it was.
    """
    path = Path(path)
    _create_private(path)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        db = Database(conn)
        _check_readable(db, path, integrity_check)
        _check_not_newer(db, path)
        db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        db.enable_wal()
        # Per connection: FULL fsyncs the WAL on every commit, so an acknowledged commit
        # survives power loss (NORMAL may lose the last commits).
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        if MIGRATIONS.pending(db):
            _migrate(db)
    except sqlite3.DatabaseError as error:
        conn.close()
        raise CorruptDatabase(path, str(error)) from error
    except BaseException:
        conn.close()
        raise
    return db


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite does; SQLite gives -wal/-shm the same mode.

    A new file has no connection anywhere, so this descriptor cannot drop anyone's locks; an
    existing file is never opened here, only its mode tightened (chmod takes no descriptor).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        _tighten(path)
        return
    os.close(fd)


def _tighten(path: Path) -> None:
    """Make an existing database (an older till made it 0644) and its -wal/-shm 0600."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            continue
        except PermissionError:
            continue  # not ours to change (another user's file): SQLite decides whether it opens


def _check_readable(db: Database, path: Path, integrity_check: bool) -> None:
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if integrity_check:
            rows = db.execute("PRAGMA quick_check").fetchall()
            if rows != [("ok",)]:
                raise CorruptDatabase(path, str(rows[0][0]))
    except sqlite3.DatabaseError as error:
        raise CorruptDatabase(path, str(error)) from error


def _check_not_newer(db: Database, path: Path) -> None:
    applied = [m.name for m in MIGRATIONS.applied(db)]
    unknown = [name for name in applied if name not in set(known_migrations())]
    if unknown:
        raise NewerSchema(path, unknown)


def _migrate(db: Database) -> None:
    """Apply pending migrations under a write lock, so two processes never race on them."""
    db.execute("BEGIN IMMEDIATE")
    try:
        # Re-check under the lock: another process may have migrated meanwhile.
        if MIGRATIONS.pending(db):
            MIGRATIONS.apply(db)
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
