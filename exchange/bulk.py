"""Bulk loading rows inside the caller's transaction: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session


def _iso(values: list) -> list:
    return [v.isoformat() if isinstance(v, date) else v for v in values]


def insert_columns(session: Session, table: sa.Table, data: dict[str, list]) -> int:
    """Insert column-major `data` without the ORM's per-object cost; returns the row count."""
    columns = list(data)
    if not columns or not data[columns[0]]:
        return 0
    connection = session.connection()
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
        # sqlite3's implicit date adapter is deprecated; SQLAlchemy stores dates as ISO text.
        converted = [
            _iso(values) if isinstance(table.c[name].type, sa.Date) else values
            for name, values in data.items()
        ]
        marks = ", ".join("?" for _ in columns)
        cursor = dbapi.cursor()
        try:
            cursor.executemany(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                zip(*converted, strict=True),
            )
        finally:
            cursor.close()
    return len(data[columns[0]])
