"""The courier: the worker's loop that delivers the notification outbox.

Each round claims due rows in one short transaction (committed, so the lease
is visible to other workers), sends each outside any transaction, and settles
each in its own.  Sending never holds the database.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from audit.plans.deadlines import record_deadlines_near
from exchange.resources import Resources
from kernel.database import unit_of_work
from notifications.channels import DeliveryFailed, send_email, send_webhook
from notifications.models import OutboxMessage
from notifications.outbox import claim, settle

log = logging.getLogger("credx.notifications")
POLL_SECONDS = 5
DEADLINE_ROUNDS = 720  # look for near deadlines about hourly (and at start)


def send(app: Resources, row: OutboxMessage) -> None:
    settings = app.settings
    if row.channel == "webhook":
        if settings.webhook_secret is None:
            raise DeliveryFailed("CREDX_WEBHOOK_SECRET is not set")
        send_webhook(row, settings.webhook_secret.get_secret_value())
        return
    if settings.smtp_url is None:
        raise DeliveryFailed("CREDX_SMTP_URL is not set")
    send_email(row, settings.smtp_url.get_secret_value(), settings.mail_from,
               settings.smtp_ca_file)  # fmt: skip


def note_deadlines(app: Resources) -> None:
    """Log answer deadlines three days away (their notifications join the outbox)."""
    with unit_of_work(app.engine) as session:
        record_deadlines_near(session, response_days=app.settings.audit_response_days,
                              actor="worker:courier")  # fmt: skip


def deliver_due(app: Resources, batch: int = 20) -> tuple[int, int]:
    """One round: (delivered, failed)."""
    settings = app.settings
    lease = timedelta(seconds=settings.notify_lease_seconds)
    backoff = timedelta(seconds=settings.notify_backoff_seconds)
    with unit_of_work(app.engine) as session:
        rows = claim(session, lease=lease, batch=batch)
        session.expunge_all()
    delivered = failed = 0
    for row in rows:
        error = None
        try:
            send(app, row)
        except DeliveryFailed as exc:
            error = str(exc)
            log.warning("notification %s (%s) not delivered: %s", row.id, row.channel, error)
        with unit_of_work(app.engine) as session:
            settle(session, row.id, error, max_attempts=settings.notify_max_attempts,
                   backoff=backoff)  # fmt: skip
        delivered, failed = (delivered + 1, failed) if error is None else (delivered, failed + 1)
    return delivered, failed


def deliver_until_idle(app: Resources) -> tuple[int, int]:
    """Rounds until nothing is due now (`credx worker --once`, tests)."""
    note_deadlines(app)
    total = (0, 0)
    while True:
        done = deliver_due(app)
        total = (total[0] + done[0], total[1] + done[1])
        if done == (0, 0):
            return total


def run_courier(app: Resources, stop: threading.Event) -> None:
    """Deliver until `stop` is set (a thread of `credx worker`)."""
    rounds = 0
    while not stop.is_set():
        try:
            if rounds % DEADLINE_ROUNDS == 0:
                note_deadlines(app)
            rounds += 1
            busy = deliver_due(app) != (0, 0)
        except Exception:  # a database outage: logged, and the loop goes on
            log.exception("notification round failed")
            busy = False
        if not busy:
            stop.wait(POLL_SECONDS)
