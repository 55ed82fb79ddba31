"""The outbox: rows written with their event, claimed and settled by the courier.

`watch(engine, config)` makes every session on that engine add the outbox rows
of a notifying event in the flush that writes the event (a SQLAlchemy
`before_flush` hook), so the two commit or roll back together: no event
without its notifications, no notification of an event that never happened.

Delivery is at least once: a row is claimed with a lease, sent, then settled;
a worker killed between sending and settling leaves the row pending, and it is
sent again with the same id once the lease runs out.  Failed attempts wait
`backoff * 2**(attempt-1)` seconds (capped at an hour); after `max_attempts`
the row is `dead` until retried by hand.
"""

from __future__ import annotations

import json
import uuid
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from eventlog.models import Event
from kernel.clock import utcnow
from kernel.errors import NotFound
from notifications.catalogue import TRIGGERS, notice_of
from notifications.models import OutboxMessage, OutboxStatus
from notifications.recipients import recipients

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class OutboxConfig:
    """What writing a row needs to know: the link base and whether webhooks are on."""

    public_url: str
    webhook_url: str | None


_CONFIGS: weakref.WeakKeyDictionary[Engine, OutboxConfig] = weakref.WeakKeyDictionary()


def watch(engine: Engine, config: OutboxConfig) -> None:
    """Write outbox rows for notifying events on sessions bound to `engine`."""
    _CONFIGS[engine] = config
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    events = [obj for obj in session.new if isinstance(obj, Event) and obj.action in TRIGGERS]
    if not events:
        return
    bind = session.get_bind()
    config = _CONFIGS.get(bind) if isinstance(bind, Engine) else None
    if config is None:
        return
    with session.no_autoflush:
        for entry in events:
            for row in rows_for(session, entry, config):
                session.add(row)


def rows_for(session: Session, entry: Event, config: OutboxConfig) -> list[OutboxMessage]:
    notice = notice_of(session, entry)
    if notice is None:
        return []
    link = config.public_url.rstrip("/") + notice.path
    body = json.dumps({"text": f"{notice.text}\n\n{link}\n", "link": link, "data": notice.data})
    targets = [("email", address) for address in recipients(session, notice)]
    if config.webhook_url:
        targets.append(("webhook", config.webhook_url))
    return [_row(notice.kind, entry.seq, channel, recipient, notice.subject, body)
            for channel, recipient in targets]  # fmt: skip


def _row(kind: str, seq: int, channel: str, recipient: str, subject: str,
         body: str) -> OutboxMessage:  # fmt: skip
    return OutboxMessage(id=uuid.uuid4().hex, kind=kind, event_seq=seq, channel=channel,
                         recipient=recipient, subject=subject, body=body)  # fmt: skip


def claim(session: Session, *, lease: timedelta, batch: int = 20) -> list[OutboxMessage]:
    """Due rows, now leased to the caller (commit at once so other workers see the lease)."""
    now = utcnow()
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING,
               col(OutboxMessage.next_attempt_at) <= now,
               (col(OutboxMessage.lease_until).is_(None)) | (col(OutboxMessage.lease_until) < now))
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )  # fmt: skip
    rows = list(session.exec(query))
    for row in rows:
        row.lease_until = now + lease
        row.attempts += 1
        session.add(row)
    session.flush()
    return rows


def settle(session: Session, message_id: str, error: str | None, *, max_attempts: int,
           backoff: timedelta) -> OutboxMessage:  # fmt: skip
    """Record one attempt's result: delivered, retried later, or dead."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"no notification {message_id}")
    now = utcnow()
    row.lease_until = None
    if error is None:
        row.status, row.delivered_at, row.last_error = OutboxStatus.DELIVERED, now, None
    else:
        row.last_error = error[:500]
        if row.attempts >= max_attempts:
            row.status = OutboxStatus.DEAD
        else:
            row.next_attempt_at = now + min(backoff * 2 ** (row.attempts - 1), MAX_BACKOFF)
    session.add(row)
    return row


@dataclass(frozen=True)
class OutboxView:
    """One row as `credx notifications list --json` shows it (no body: it is in the mail)."""

    id: str
    kind: str
    channel: str
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    delivered_at: str | None

    @classmethod
    def of(cls, row: OutboxMessage) -> OutboxView:
        return cls(row.id, row.kind, row.channel, row.recipient, row.subject, row.status,
                   row.attempts, row.last_error, row.created_at.isoformat(),
                   row.delivered_at.isoformat() if row.delivered_at else None)  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def list_messages(session: Session, *, status: str | None = None,
                  limit: int = 100) -> list[OutboxView]:  # fmt: skip
    query = select(OutboxMessage).order_by(col(OutboxMessage.created_at).desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return [OutboxView.of(row) for row in session.exec(query)]


def retry(session: Session, message_id: str | None = None) -> int:
    """Put dead rows (one, or all) back in the queue with a fresh count of attempts."""
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
    if message_id:
        query = query.where(OutboxMessage.id == message_id)
    rows = list(session.exec(query))
    if message_id and not rows:
        raise NotFound(f"no dead notification {message_id}")
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = OutboxStatus.PENDING, 0, utcnow()
        row.lease_until = None
        session.add(row)
    return len(rows)


def due_at(session: Session) -> datetime | None:
    """When the next pending row is due (None: nothing pending)."""
    row = session.exec(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
                       .order_by(col(OutboxMessage.next_attempt_at)).limit(1)).first()  # fmt: skip
    return row.next_attempt_at if row else None
