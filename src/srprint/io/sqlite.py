"""SQLite connections for srprint's stores (the fingerprint registry, the lineage index): one connection
per operation, a busy timeout, errors mapped to the caller's own, writes in an immediate transaction."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def sqlite_connection(path: str | Path, *, timeout_s: float, on_open: Callable[[sqlite3.Error], Exception],
                      on_error: Callable[[sqlite3.DatabaseError], Exception],
                      wal: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode that waits ``timeout_s`` for a lock, closed on exit.

    Parameters
    ----------
    path : str or Path
        The database file.
    timeout_s : float
        How long a statement waits for another writer's lock.
    on_open : callable
        Maps the error of opening the file to the exception raised instead.
    on_error : callable
        Maps a database error inside the block (a corrupt file, a lock held too long) to the exception raised.
    wal : bool
        Switch the database to write-ahead logging.

    Yields
    ------
    sqlite3.Connection
        The open connection.

    Raises
    ------
    Exception
        What ``on_open`` or ``on_error`` returns.
    """
    try:
        con = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise on_open(exc) from exc
    try:
        con.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        if wal:
            con.execute("PRAGMA journal_mode = WAL")
        yield con
    except sqlite3.DatabaseError as exc:
        raise on_error(exc) from exc
    finally:
        con.close()


@contextlib.contextmanager
def immediate_transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (the write lock at once), ``COMMIT`` on success, ``ROLLBACK`` on any exception.

    Parameters
    ----------
    con : sqlite3.Connection
        A connection in autocommit mode (:func:`sqlite_connection`).

    Yields
    ------
    sqlite3.Connection
        The same connection, inside the transaction.

    Raises
    ------
    sqlite3.OperationalError
        If the write lock is not granted within the connection's busy timeout.
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
