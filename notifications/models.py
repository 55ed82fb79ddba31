"""The outbox, the contacts credx did not already know, and opt-outs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the last attempt; `credx notifications retry` revives it


class OutboxMessage(SQLModel, table=True):
    """One message to one recipient over one channel.

    `id` is what receivers see (`Message-ID`, `X-Credx-Notification-Id`, the
    webhook's `id`): a message sent again after a worker died mid-delivery
    carries the same id, so a receiver drops the duplicate.  `lease_until` is
    the claim of the worker sending it; a claim older than that is free again.
    """

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=40, index=True)
    event_seq: int = Field(index=True)
    channel: str = Field(max_length=10)  # email | webhook
    recipient: str = Field(max_length=300)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)  # JSON: {"text", "link", "data"}
    status: str = Field(default=OutboxStatus.PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow,
                                      sa_type=sa.DateTime(timezone=True))  # fmt: skip
    lease_until: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Contact(SQLModel, table=True):
    """A person to tell who is not in an agreement: a district's coordinator (`district`)
    or one of the state's auditors (`auditor`, `district` empty)."""

    __tablename__ = "contacts"
    __table_args__ = (sa.UniqueConstraint("state", "district", "role", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=2, index=True)
    district: str = Field(default="", max_length=20)
    role: str = Field(max_length=20)
    name: str = Field(max_length=200)
    email: str = Field(max_length=200)


class OptOut(SQLModel, table=True):
    """This address wants no more messages of this kind (mandatory kinds ignore it)."""

    __tablename__ = "opt_outs"

    email: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
