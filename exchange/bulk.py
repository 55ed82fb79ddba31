"""Bulk loading rows inside the caller's transaction: COPY on PostgreSQL, multi-row
INSERT on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice
from typing import Any

import sqlalchemy as sa

SQLITE_MAX_VARIABLES = 32_766
SQLITE_ROWS_PER_STATEMENT = 500


def insert_columns(connection: sa.Connection, table: sa.Table, data: dict[str, list]) -> int:
    """Insert column-major `data` without the ORM's per-object cost; returns the row count.

    Values must be ready for the database as they are: dates as ISO text (which
    both SQLite, where SQLAlchemy stores dates as text, and COPY accept).
    """
    columns = list(data)
    if not columns or not data[columns[0]]:
        return 0
    rows = zip(*data.values(), strict=True)
    if connection.dialect.name == "postgresql":
        _copy(connection, table, columns, rows)
    else:
        _insert_many(connection, table, columns, rows)
    return len(data[columns[0]])


def driver_of(connection: sa.Connection) -> Any:
    """The DBAPI connection (psycopg or sqlite3) under a live SQLAlchemy connection."""
    driver = connection.connection.driver_connection
    assert driver is not None  # None only once the connection is closed
    return driver


def _names(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _copy(connection: sa.Connection, table: sa.Table, columns: list[str], rows) -> None:
    dbapi = driver_of(connection)
    statement = f'COPY "{table.name}" ({_names(columns)}) FROM STDIN'
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_many(connection: sa.Connection, table: sa.Table, columns: list[str], rows) -> None:
    """Hundreds of rows per statement: fewer statement executions, and the GIL is
    released for long stretches, so a writer thread overlaps well with validation."""
    per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, SQLITE_MAX_VARIABLES // len(columns)))
    group = "(" + ", ".join("?" for _ in columns) + ")"
    head = f'INSERT INTO "{table.name}" ({_names(columns)}) VALUES '
    cursor = driver_of(connection).cursor()
    try:
        remainder: list[tuple] = []
        full = head + ", ".join([group] * per_statement)
        for chunk in _chunks(rows, per_statement):
            if len(chunk) < per_statement:
                remainder = chunk
                break
            cursor.execute(full, tuple(chain.from_iterable(chunk)))
        if remainder:
            statement = head + ", ".join([group] * len(remainder))
            cursor.execute(statement, tuple(chain.from_iterable(remainder)))
    finally:
        cursor.close()


def _chunks(rows, size: int) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk
