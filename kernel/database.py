"""Engine and session plumbing shared by every package, and the one unit of work.

Constraint names follow one convention so Alembic migrations stay stable on
SQLite and PostgreSQL.

The rule: services receive a `Session` and never commit it or roll it back;
only a boundary does, and every boundary does it through `unit_of_work`:
a CLI command, a web request (`web.db`), a worker job
(`exchange.scheduler`).  A request either happens whole or not at all.  The
one kind of write that outlives a failed request is a refusal's event (a
refused upload, finding or answer is itself a record an auditor needs): the
service raises a `kernel.errors.Refusal` (or an error `keeping` a record)
instead of writing it, and `unit_of_work` rolls back everything else, writes
and commits that event on a fresh session, then re-raises.

A pipeline that is several units of work by design opens each one here too,
never with `commit()`: a delivery is received (committed first, so the
original is never lost) and then loaded; a pull, a roster import, a purge
(certificates removed if its commit fails); the worker claims a job in one
unit (so other workers see the claim), runs it, and records its end in
another.  The remaining commits say why where they are: savepoints
(`begin_nested`) that undo one step of a request, a bulk evidence upload that
keeps each accepted line as it goes, and the scheduler's advisory-lock
connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from kernel.errors import CredxError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class StateScoped:
    """Marks a table of student-level rows with a `state` column.

    `access.scope.scoped_session` limits every ORM read of such a table to the
    caller's states; the marker lets it do so without importing the domains.
    """

    if TYPE_CHECKING:
        state: Any  # each table's own `state` column


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    """An engine with the pragmas credx relies on (foreign keys, WAL) on SQLite; a busy
    SQLite database is retried for `busy_timeout` seconds before "database is locked"."""
    if is_sqlite(url):
        # check_same_thread off: ingest hands its connection to one writer thread at a time
        engine = create_engine(
            url, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # Python's sqlite3 begins transactions only before DML, so a SAVEPOINT after a
    # SELECT would open (and its RELEASE commit) a transaction of its own: an ingest
    # killed after that RELEASE left rows committed under an unfinished delivery.
    # Take transaction control away from the driver; `_sqlite_begin` begins for real.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk loads keep index pages hot
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # `sqlite_begin="IMMEDIATE"` (an execution option) takes the write lock up front,
    # waiting up to the busy timeout: a deferred transaction that reads and then writes
    # fails at once ("database is locked") if another writer committed in between,
    # which concurrent web requests do.
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}" if mode == "IMMEDIATE" else "BEGIN")


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A unit of work: commits when the block ends, rolls back on any error.

    An error carrying a `record` (a `Refusal`) is kept although the work is
    not: after the rollback its event is written and committed on a fresh
    session, then the error is re-raised.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except CredxError as error:
            session.rollback()
            if error.record is not None:
                _keep(engine, error)
            raise
        except BaseException:
            session.rollback()
            raise


def _keep(engine: Engine, error: CredxError) -> None:
    """Commit the refusal's event alone, in a unit of work of its own."""
    assert error.record is not None
    with Session(engine, expire_on_commit=False) as session:
        error.record(session)
        session.commit()


# The name most boundaries (the CLI's commands) use for the same unit of work.
session_scope = unit_of_work
