"""Typed access to rows a caller knows exist.

SQLModel tables declare `id: int | None` (None until the first flush) and
`Session.get` answers `X | None`.  Where the caller has just written the row, or
holds its key from a claim in the same unit of work, a missing row or key is a
bug, not a user error: these helpers say so and give the type checker the
non-optional type.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import CursorResult, Result, Table
from sqlmodel import Session, SQLModel

Row = TypeVar("Row")


class Keyed(Protocol):
    """A table row with an integer primary key assigned by the database."""

    id: int | None


def existing(session: Session, model: type[Row], key: Any) -> Row:
    """`session.get` for a row that must exist (a `LookupError` if not: a bug)."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"{model.__name__} {key!r} does not exist")
    return row


def key_of(row: Keyed) -> int:
    """The primary key of a row that has been flushed (a `LookupError` if not: a bug)."""
    if row.id is None:
        raise LookupError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel table class (for bulk inserts)."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by the table=True metaclass
    return table


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE touched: `Session.execute` types its answer as a plain
    `Result`, though for those statements it is a `CursorResult`."""
    return cast("CursorResult[Any]", result).rowcount
