"""A worker SIGKILLed while the SMTP server holds its answer: after a restart every
notification is delivered, each once after receivers drop repeats of an id they saw."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter

import pytest
from sqlmodel import select

from kernel.database import session_scope
from notifications.models import OutboxMessage
from tests.cli import CREDX, credx_process
from tests.notifications.conftest import WEBHOOK_SECRET
from tests.notifications.journeys import TRIGGERS, with_contacts

LEASE_SECONDS = 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_worker_delivers_each_notification_exactly_once_after_restart(
    notifying, tmp_path, smtp_server, receiver, cli_env
):
    app = notifying
    with_contacts(app, tmp_path)
    for kind in ("delivery_rejected", "agreement_expiring", "rows_rejected"):
        TRIGGERS[kind](app, tmp_path)
    with session_scope(app.engine) as session:
        ids = {row.id for row in session.exec(select(OutboxMessage))}
    assert len(ids) >= 6
    env = {**os.environ, **cli_env, "CREDX_SMTP_URL": smtp_server.url,
           "CREDX_SMTP_CA_FILE": str(smtp_server.ca_file), "CREDX_WEBHOOK_URL": receiver.url,
           "CREDX_WEBHOOK_SECRET": WEBHOOK_SECRET, "CREDX_NOTIFY_LEASE_SECONDS": "2",
           "CREDX_LOG_FORMAT": "text"}  # fmt: skip
    smtp_server.handler.hold_seconds = 30  # the first mail is taken, its 250 never comes
    worker = subprocess.Popen([*CREDX, "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        assert smtp_server.wait_for(1, timeout=60), "the worker sent nothing"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    smtp_server.handler.hold_seconds = 0
    with session_scope(app.engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
    ran = credx_process("worker", "--once", "--json", env=env)
    assert json.loads(ran.stdout)["notifications_failed"] == 0
    received = [m.message["X-Credx-Notification-Id"] for m in smtp_server.wait_for(1)]
    received += [hook.json["id"] for hook in receiver.hooks]
    assert set(received) == ids  # nothing lost
    repeats = {i: n for i, n in Counter(received).items() if n > 1}
    assert set(repeats) <= ids and sum(repeats.values()) - len(repeats) <= 1  # the killed one
    with session_scope(app.engine) as session:
        rows = list(session.exec(select(OutboxMessage)))
    assert {row.status for row in rows} == {"delivered"}
