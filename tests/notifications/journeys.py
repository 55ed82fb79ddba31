"""The triggers of each notification kind, as the tests drive them, and who must hear."""

from __future__ import annotations

from agreements.events import AgreementEvent
from agreements.store import store_terms
from agreements.terms import Contact
from agreements.vendors import add_vendor
from audit.plans.queue import AuditQueue
from audit.plans.responses import ResponseService
from eventlog.log import EventLog
from exchange.deliveries import ingest_file
from exchange.events import ExchangeEvent
from exchange.models import Connector
from kernel.database import session_scope, unit_of_work
from notifications.contacts import load_contacts
from schemas.credentials import known_codes
from tests.audit.plans.auditing import auditor, district, drawn_tasks
from tests.factories import blanket_terms, csv_text, exam_row, write_file

VENDOR_MAIL, STATE_MAIL = "data@nccer.example", "irc@doe.la.example"
DISTRICT_MAIL, AUDITOR_MAIL = "coordinator@district036.example", "auditor@doe.la.example"
DISCREPANCY = "wrong_student"
STUDENT = {"first_name": "Philomena", "last_name": "Quartermaine", "birth_date": "2008-02-29",
           "state_student_id": "LA7777777", "candidate_id": "CAND-998877"}  # fmt: skip


def with_contacts(app, tmp_path) -> None:
    """A vendor whose agreement names a vendor and a state contact; district and auditor
    contacts from the contacts list."""
    with session_scope(app.engine) as session:
        add_vendor(session, vendor_id="nccer", name="NCCER")
        contacts = (Contact(name="Vendor data team", email=VENDOR_MAIL, role="vendor data"),
                    Contact(name="State IRC lead", email=STATE_MAIL, role="state coordinator"))
        terms = blanket_terms("nccer", sorted(known_codes(session)), contacts=contacts)
        store_terms(session, terms, document="test agreement", actor="test")
        listing = tmp_path / "contacts.csv"
        listing.write_text("state,district,role,name,email\n"
                           f"LA,036,district,Coordinator,{DISTRICT_MAIL}\n"
                           f"LA,,auditor,Auditor,{AUDITOR_MAIL}\n")  # fmt: skip
        load_contacts(session, listing)


def record(app, action, subject: str, **details) -> None:
    with unit_of_work(app.engine) as session:
        EventLog(session).record(action, subject, "test", **details)


def connector(app) -> None:
    with unit_of_work(app.engine) as session:
        session.add(Connector(name="nccer-sftp", vendor_id="nccer", kind="sftp", config="{}",
                              document_sha256="0" * 64))  # fmt: skip


def ingest(app, tmp_path, rows_text: str, name: str):
    return ingest_file(app, write_file(tmp_path, name, rows_text), "nccer", actor="test",
                       original_name=name)  # fmt: skip


def audit_final(app, tmp_path, outcome: str = "verified"):
    """A sampled upload judged by a first auditor (a discrepancy: confirmed by a second)."""
    with unit_of_work(app.engine) as session:
        [task] = drawn_tasks(session, tmp_path, {"036001": 1})
    kind, note = (DISCREPANCY, "the name differs") if outcome == "discrepancy" else (None, None)
    for name in ("a1", "a2") if outcome == "discrepancy" else ("a1",):
        with unit_of_work(app.engine) as session:
            queue = AuditQueue(session, app, auditor(name))
            taken = queue.next_task()
            queue.judge(taken.id, outcome, kind, note, seen_version=taken.version)
    return task


TRIGGERS = {
    "delivery_rejected": lambda app, tmp: ingest(app, tmp, "", "empty.csv"),
    "rows_rejected": lambda app, tmp: ingest(app, tmp, csv_text(
        [exam_row(1, **STUDENT), exam_row(2, **{**STUDENT, "birth_date": "not-a-date"})]),
        "partial.csv"),
    "delivery_failed": lambda app, tmp: record(
        app, ExchangeEvent.DELIVERY_FAILED,
        f"delivery:{ingest(app, tmp, '', 'failed.csv').delivery_id}", error="OSError"),
    "file_missing": lambda app, tmp: (connector(app), record(
        app, ExchangeEvent.FILE_MISSING, "connector:nccer-sftp", day="2026-12-03",
        expect_by="06:00")),
    "pull_failed": lambda app, tmp: (connector(app), record(
        app, ExchangeEvent.JOB_FINISHED, "job:pull:nccer-sftp:2026-12-03",
        error="TimeoutError: timed out")),
    "host_key_refused": lambda app, tmp: (connector(app), record(
        app, ExchangeEvent.JOB_FINISHED, "job:pull:nccer-sftp:2026-12-03",
        error="SourceRefused: the host key of sftp.nccer.example is not the pinned one")),
    "finding_final": audit_final,
    "deadline_near": lambda app, tmp: deadline_near(app, tmp),
    "district_answered": lambda app, tmp: answer(app, audit_final(app, tmp, "discrepancy")),
    "agreement_expiring": lambda app, tmp: record(
        app, AgreementEvent.AGREEMENT_EXPIRING, "agreement:nccer-all", effective_to="2026-12-31"),
}  # fmt: skip
EXPECTED = {
    "delivery_rejected": {VENDOR_MAIL, STATE_MAIL},
    "rows_rejected": {VENDOR_MAIL},
    "delivery_failed": {STATE_MAIL},
    "file_missing": {VENDOR_MAIL, STATE_MAIL},
    "pull_failed": {VENDOR_MAIL, STATE_MAIL},
    "host_key_refused": {VENDOR_MAIL, STATE_MAIL},
    "finding_final": {DISTRICT_MAIL},
    "deadline_near": {DISTRICT_MAIL},
    "district_answered": {AUDITOR_MAIL},
    "agreement_expiring": {VENDOR_MAIL, STATE_MAIL},
}


def deadline_near(app, tmp_path) -> None:
    """A discrepancy final long enough ago that its answer is due in two days; the worker's
    deadline check logs it."""
    from datetime import timedelta

    from audit.plans.models import AuditTask
    from credx.courier import note_deadlines
    from kernel.clock import utcnow

    task = audit_final(app, tmp_path, "discrepancy")
    with unit_of_work(app.engine) as session:
        row = session.get(AuditTask, task.id)
        row.final_at = utcnow() - timedelta(days=app.settings.audit_response_days - 2)
        session.add(row)
    note_deadlines(app)
    note_deadlines(app)  # a second look the same day adds nothing


def answer(app, task) -> None:
    with unit_of_work(app.engine) as session:
        ResponseService(session, app, district("036")).explain(task.id, "scan was of the draft")
