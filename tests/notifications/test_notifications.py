"""Each notification kind, from its real trigger to a mail at a real SMTP server (STARTTLS)
and a signed webhook at a local receiver, with no student-level data in either."""

from __future__ import annotations

import hmac
import json
import time

import pytest
from sqlmodel import select

from credx.courier import deliver_until_idle
from eventlog.log import EventLog
from exchange.events import ExchangeEvent
from kernel.database import session_scope, unit_of_work
from notifications.catalogue import CATALOGUE
from notifications.channels import signature
from notifications.contacts import set_opt_out
from notifications.models import OutboxMessage
from tests.cli import credx
from tests.notifications.conftest import WEBHOOK_SECRET
from tests.notifications.journeys import (
    EXPECTED,
    STUDENT,
    TRIGGERS,
    VENDOR_MAIL,
    connector,
    with_contacts,
)


def student_values(app) -> list[str]:
    """Every student name, id and birth date credx holds: none may be in a message."""
    from exchange.evidence.models import Evidence
    from exchange.models import ExamResult

    values = list(STUDENT.values())
    with session_scope(app.engine) as session:
        for row in session.exec(select(Evidence)):
            values += [row.student_name, row.state_student_id, row.birth_date.isoformat()]
        for result in session.exec(select(ExamResult)):
            values += [v for v in (result.first_name, result.last_name, result.candidate_id) if v]
    return [value for value in values if value and len(value) > 3]


def test_the_catalogue_is_what_these_tests_cover():
    assert {kind.name for kind in CATALOGUE} == set(TRIGGERS) == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(TRIGGERS))
def test_each_kind_arrives_by_mail_and_signed_webhook_without_student_data(
    notifying, tmp_path, smtp_server, receiver, kind
):
    app = notifying
    with_contacts(app, tmp_path)
    TRIGGERS[kind](app, tmp_path)
    with session_scope(app.engine) as session:
        rows = list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)))
    assert {r.recipient for r in rows if r.channel == "email"} == EXPECTED[kind]
    assert deliver_until_idle(app)[1] == 0
    mails = [m for m in smtp_server.wait_for(len(EXPECTED[kind])) if
             m.message["X-Credx-Kind"] == kind]  # fmt: skip
    assert {rcpt for m in mails for rcpt in m.rcpt} == EXPECTED[kind]
    assert all(m.tls for m in mails)  # STARTTLS before the message
    hooks = [h for h in receiver.wait_for(1) if h.json["kind"] == kind]
    assert len(hooks) == 1
    hook = hooks[0]
    expected = signature(WEBHOOK_SECRET, hook.headers["x-credx-timestamp"], hook.body)
    assert hmac.compare_digest(hook.headers["x-credx-signature"], expected)
    assert abs(int(hook.headers["x-credx-timestamp"]) - time.time()) < 120
    assert hook.json["link"].startswith("https://credx.agency.example/")
    texts = [m.message.get_payload() + str(m.message["Subject"]) for m in mails]
    texts.append(hook.body.decode())
    leaked = [v for v in student_values(app) if any(v in text for text in texts)]
    assert leaked == []
    assert {m.message["X-Credx-Notification-Id"] for m in mails} <= {r.id for r in rows}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_event_rolled_back_leaves_no_notification(notifying, tmp_path):
    with_contacts(notifying, tmp_path)
    connector(notifying)
    with pytest.raises(RuntimeError), unit_of_work(notifying.engine) as session:
        EventLog(session).record(ExchangeEvent.FILE_MISSING, "connector:nccer-sftp", "test",
                                 day="2026-12-03", expect_by="06:00")  # fmt: skip
        assert session.exec(select(OutboxMessage)).all()  # written in the event's transaction
        raise RuntimeError("the request failed after the event")
    with session_scope(notifying.engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_opt_out_stops_optional_kinds_only(notifying, tmp_path, smtp_server):
    with_contacts(notifying, tmp_path)
    with unit_of_work(notifying.engine) as session:
        set_opt_out(session, VENDOR_MAIL, "rows_rejected", opted_out=True)
        with pytest.raises(Exception, match="mandatory"):
            set_opt_out(session, VENDOR_MAIL, "delivery_rejected", opted_out=True)
    TRIGGERS["rows_rejected"](notifying, tmp_path)
    TRIGGERS["delivery_rejected"](notifying, tmp_path)
    with session_scope(notifying.engine) as session:
        mailed = {(r.kind, r.recipient) for r in session.exec(select(OutboxMessage))
                  if r.channel == "email"}  # fmt: skip
    assert ("rows_rejected", VENDOR_MAIL) not in mailed
    assert ("delivery_rejected", VENDOR_MAIL) in mailed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_webhook_is_retried_with_backoff_then_dead_then_retried_by_hand(
    notifying, tmp_path, receiver, cli_env
):
    app = notifying
    app.settings.notify_max_attempts = 2
    with_contacts(app, tmp_path)
    receiver.refuse = 10
    TRIGGERS["agreement_expiring"](app, tmp_path)
    deliver_until_idle(app)
    with session_scope(app.engine) as session:
        [hook] = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))
    assert (hook.status, hook.attempts) == ("pending", 1)
    assert "503" in hook.last_error
    assert hook.next_attempt_at.timestamp() > time.time()  # backs off, not at once
    time.sleep(1.2)
    deliver_until_idle(app)
    env = {**cli_env, "CREDX_WEBHOOK_URL": receiver.url, "CREDX_WEBHOOK_SECRET": WEBHOOK_SECRET}
    dead = json.loads(credx("notifications", "list", "--status", "dead", "--json", env=env).stdout)
    assert [(d["id"], d["attempts"]) for d in dead] == [(hook.id, 2)]
    receiver.refuse = 0
    assert json.loads(credx("notifications", "retry", "--all", "--json", env=env).stdout) == {
        "retried": 1}
    deliver_until_idle(app)
    assert [h.json["id"] for h in receiver.wait_for(1)] == [hook.id]
    with session_scope(app.engine) as session:
        assert session.get(OutboxMessage, hook.id).status == "delivered"


def test_the_operator_guide_lists_every_kind_with_its_recipients_and_mandatory_flag():
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "operator" / "notifications.md").read_text()
    for kind in CATALOGUE:
        row = next(line for line in guide.splitlines() if line.startswith(f"| `{kind.name}` |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2] == ", ".join(kind.audiences), kind.name
        assert cells[3] == ("yes" if kind.mandatory else "no"), kind.name
