"""How many statements one next-task request sends (a count, not a time: it cannot creep up)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import func, select

from audit.plans.queue import AuditQueue, Finding
from eventlog.log import EventLog
from eventlog.models import Event
from exchange.evidence.models import Evidence
from kernel.database import session_scope
from tests.audit.plans.auditing import auditor, drawn_tasks
from tests.audit.plans.factories import vendor_result

# hand back the judged task, take the next, show its case file: 4 event-log entries
NEXT_TASK_STATEMENTS = 20


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_next_task_with_its_case_file_sends_a_fixed_number_of_statements(session, app, tmp_path):
    tasks = drawn_tasks(session, tmp_path, {"036001": 3})
    for task in tasks:
        vendor_result(session, session.get(Evidence, task.evidence_id))
    queue = AuditQueue(session, app, auditor("a1"))
    judged = queue.next_task()
    queue.record(judged.id, Finding.parse("verified", None, None), seen_version=judged.version)
    session.commit()
    before = session.exec(select(func.count()).select_from(Event)).one()
    with statements(app.engine) as sent, session_scope(app.engine) as request:
        queue = AuditQueue(request, app, auditor("a1"))
        detail = queue.describe(queue.next_task()).as_json()
    assert detail["id"] == tasks[1].id and len(detail["vendor_records"]) == 1
    listed = "\n".join(sent)
    assert len(sent) == NEXT_TASK_STATEMENTS, f"{len(sent)} statements:\n{listed}"
    with session_scope(app.engine) as check:
        log = EventLog(check)
        assert check.exec(select(func.count()).select_from(Event)).one() == before + 4
        assert log.verify()[1] is None
        actions = [row.action for row in log.for_subject(f"audit_task:{judged.id}")]
    assert actions[-1] == "audit:task:handed_back"
