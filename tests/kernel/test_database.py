"""The unit of work (`kernel.database.unit_of_work`), on SQLite and PostgreSQL: a block
is committed whole or not at all, and a refusal's event alone outlives a failed one."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from eventlog.events import LogEvent
from eventlog.log import EventLog
from eventlog.models import Event
from kernel.database import unit_of_work
from kernel.errors import Conflict, NotFound, Refusal

WORK, REFUSED = LogEvent.LOG_VERIFIED, LogEvent.LOG_CHECKPOINTED  # any two tags will do


def committed(engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(Event).order_by(col(Event.seq)))
        return [(row.action, row.subject) for row in rows]


def write(session: Session, action: LogEvent, subject: str) -> None:
    EventLog(session).record(action, subject, "test")


def test_a_block_is_committed_whole(app):
    before = committed(app.engine)
    with unit_of_work(app.engine) as session:
        write(session, WORK, "one")
        write(session, WORK, "two")
    assert committed(app.engine) == [*before, (str(WORK), "one"), (str(WORK), "two")]


def test_an_error_leaves_nothing(app):
    before = committed(app.engine)
    with pytest.raises(NotFound), unit_of_work(app.engine) as session:
        write(session, WORK, "undone")
        raise NotFound("no such thing")
    assert committed(app.engine) == before


def test_a_refusal_keeps_its_event_alone_from_a_fresh_session(app):
    before = committed(app.engine)
    sessions: list[Session] = []

    def record(fresh: Session) -> None:
        sessions.append(fresh)
        write(fresh, REFUSED, "attempt")

    with pytest.raises(Refusal, match="refused") as caught, unit_of_work(app.engine) as session:
        write(session, WORK, "undone")
        raise Refusal("refused", record=record)
    assert committed(app.engine) == [*before, (str(REFUSED), "attempt")]
    assert sessions and sessions[0] is not session and caught.value.record is record


def test_any_error_keeping_a_record_keeps_its_type_and_status(app):
    before = committed(app.engine)
    with pytest.raises(Conflict) as caught, unit_of_work(app.engine) as session:
        write(session, WORK, "undone")
        raise Conflict("someone was first").keeping(lambda fresh: write(fresh, REFUSED, "late"))
    assert caught.value.http_status == 409 and caught.value.code == "conflict"
    assert committed(app.engine) == [*before, (str(REFUSED), "late")]
