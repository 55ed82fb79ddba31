"""Bulk loading rows inside the caller's transaction: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import sqlalchemy as sa


def insert_columns(connection: sa.Connection, table: sa.Table, data: dict[str, list]) -> int:
    """Insert column-major `data` without the ORM's per-object cost; returns the row count.

    Values must be ready for the database as they are: dates as ISO text (which
    both SQLite, where SQLAlchemy stores dates as text, and COPY accept).
    """
    columns = list(data)
    if not columns or not data[columns[0]]:
        return 0
    dbapi = connection.connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        rows = zip(*data.values(), strict=True)
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        cursor = dbapi.cursor()
        try:
            cursor.executemany(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                zip(*data.values(), strict=True),
            )
        finally:
            cursor.close()
    return len(data[columns[0]])
