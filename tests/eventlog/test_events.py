"""The event log on real databases: append-only in the database, tamper-evident by hash."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from eventlog.log import EventLog
from eventlog.models import Event
from exchange.events import ExchangeEvent
from kernel.database import session_scope
from tests.eventlog.guard import disable_guard


def record_three(app) -> None:
    with session_scope(app.engine) as session:
        log = EventLog(session)
        for n in range(3):
            log.record(ExchangeEvent.DELIVERY_RECEIVED, f"delivery:{n}", "test", n=n, name="José")


def verify(app):
    with session_scope(app.engine) as session:
        return EventLog(session).verify()


def test_entries_chain_and_verify(app):
    record_three(app)
    count, problem = verify(app)
    assert (count, problem) == (3, None)
    with session_scope(app.engine) as session:
        entries = EventLog(session).for_subject("delivery:1")
    assert entries[0].payload == '{"n":1,"name":"José"}'


@pytest.mark.parametrize("statement", ["UPDATE events SET actor = 'x'", "DELETE FROM events"])
def test_the_database_refuses_update_and_delete(app, statement):
    record_three(app)
    with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
        connection.execute(text(statement))
    assert verify(app) == (3, None)


def test_a_changed_past_entry_is_named_by_verify(app):
    record_three(app)
    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("UPDATE events SET payload = :p WHERE seq = 2"), {"p": '{"n":7}'})
    _, problem = verify(app)
    assert problem is not None and problem.seq == 2


def test_a_deleted_middle_entry_is_found(app):
    record_three(app)
    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("DELETE FROM events WHERE seq = 2"))
    assert verify(app)[1].seq == 3


def test_two_entries_can_never_share_a_predecessor(app):
    record_three(app)
    with session_scope(app.engine) as session:
        last = session.get(Event, 3)
        fork = Event(**{**last.model_dump(), "seq": 4, "hash": "f" * 64})
        session.add(fork)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_appends_after_a_rolled_back_savepoint_chain_to_what_was_kept(app):
    """The tail is read once per transaction; a savepoint rolled back takes its entries
    with it, and the next append links to the last entry that stayed."""
    with session_scope(app.engine) as session:
        log = EventLog(session)
        log.record(ExchangeEvent.DELIVERY_RECEIVED, "delivery:1", "test")
        savepoint = session.begin_nested()
        log.record(ExchangeEvent.DELIVERY_RECEIVED, "delivery:gone", "test")
        savepoint.rollback()
        log.record(ExchangeEvent.DELIVERY_RECEIVED, "delivery:2", "test")
        with session.begin_nested():
            EventLog(session).record(ExchangeEvent.DELIVERY_RECEIVED, "delivery:3", "test")
        log.record(ExchangeEvent.DELIVERY_RECEIVED, "delivery:4", "test")
    record_three(app)  # a new transaction reads the tail again
    assert verify(app) == (7, None)
