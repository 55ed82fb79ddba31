"""Writing to and verifying the event log.

Every step that touches student data or keys records an event here: who did
what to which record, when.  The log is append-only (database triggers refuse
UPDATE and DELETE) and hash-chained (`audit.chain`), so an edit made around
the triggers is still detected by `verify_log`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from audit.chain import GENESIS, ChainBreak, ChainEntry, canonical_json, entry_hash, find_break
from audit.models import Event
from credx.clock import utcnow

CHAIN_LOCK_ID = 0x637265647801  # PostgreSQL advisory lock serialising appends


class Action(StrEnum):
    VENDOR_CREATED = "vendor:record:created"
    CREDENTIALS_LOADED = "credentials:registry:loaded"
    DELIVERY_RECEIVED = "delivery:file:received"
    DELIVERY_LOADED = "delivery:file:loaded"
    DELIVERY_REJECTED = "delivery:file:rejected"
    DELIVERY_DUPLICATE = "delivery:file:duplicate"
    DELIVERY_FAILED = "delivery:file:failed"
    ROWS_REJECTED = "delivery:rows:rejected"
    REJECTIONS_EXPORTED = "delivery:rejections:exported"
    KEY_CREATED = "keys:master:created"
    KEY_ROTATED = "keys:master:rotated"
    BLOBS_CHECKED = "keys:blobs:checked"
    SIGNING_KEY_CREATED = "keys:signing:created"
    LOG_VERIFIED = "log:chain:verified"
    LOG_CHECKPOINTED = "log:checkpoint:signed"
    AUDIT_MANIFEST_WRITTEN = "audit:manifest:written"
    AUDIT_SAMPLE_DRAWN = "audit:sample:drawn"
    AUDIT_PLAN_CREATED = "audit:plan:created"
    AUDIT_POPULATION_FROZEN = "audit:population:frozen"
    AUDIT_SAMPLE_EXPANDED = "audit:sample:expanded"
    AUDIT_DRAW_VERIFIED = "audit:draw:verified"
    AUDIT_CYCLE_CLOSED = "audit:cycle:closed"
    AUDIT_LEVEL_SWITCHED = "audit:school:switched"
    AUDIT_RESULTS_EXPORTED = "audit:results:exported"
    AGREEMENT_APPLIED = "agreement:document:applied"
    AGREEMENT_EXPIRING = "agreement:term:expiring"
    AGREEMENT_PURGED = "agreement:data:destroyed"
    DELIVERY_QUARANTINED = "delivery:file:quarantined"
    DISCLOSURE_RECORDED = "disclosure:records:released"
    CONNECTOR_APPLIED = "connector:document:applied"
    JOB_FINISHED = "worker:job:finished"
    FILE_MISSING = "connector:file:missing"
    TOKEN_CREATED = "access:token:created"  # noqa: S105 (an event tag, not a secret)
    TOKEN_REVOKED = "access:token:revoked"  # noqa: S105
    SIGN_IN_SUCCEEDED = "access:sign_in:succeeded"
    SIGN_IN_FAILED = "access:sign_in:failed"
    EVIDENCE_RECEIVED = "evidence:file:received"
    EVIDENCE_REFUSED = "evidence:file:refused"
    EVIDENCE_BULK_RECEIVED = "evidence:bulk:received"
    EVIDENCE_BULK_REFUSED = "evidence:bulk:refused"
    EVIDENCE_LISTED = "evidence:claims:listed"
    EVIDENCE_VIEWED = "evidence:claim:viewed"
    EVIDENCE_PREVIEW_VIEWED = "evidence:preview:viewed"
    EVIDENCE_ORIGINAL_DOWNLOADED = "evidence:original:downloaded"
    ROSTER_IMPORTED = "roster:file:imported"
    ROSTER_FAILED = "roster:file:failed"
    ROSTER_REJECTIONS_EXPORTED = "roster:rejections:exported"
    SCHOOLS_LOADED = "roster:schools:loaded"
    PRIORITIES_APPLIED = "report:priorities:applied"
    REPORT_GENERATED = "report:attainment:generated"
    LINK_RUN_FINISHED = "linkage:run:finished"
    PERSON_MERGED = "linkage:person:merged"
    PERSON_SPLIT = "linkage:person:split"
    PERSON_VIEWED = "linkage:person:viewed"
    REVIEW_VIEWED = "linkage:review:viewed"
    REVIEW_DECIDED = "linkage:review:decided"
    LINK_FILE_LINKED = "linkage:file:linked"
    AUDIT_TASK_ASSIGNED = "audit:task:assigned"
    AUDIT_TASK_RELEASED = "audit:task:released"
    AUDIT_TASK_VIEWED = "audit:task:viewed"
    AUDIT_FINDING_RECORDED = "audit:finding:recorded"
    AUDIT_FINDING_REFUSED = "audit:finding:refused"
    AUDIT_FINDINGS_LISTED = "audit:findings:listed"
    AUDIT_FINDING_VIEWED = "audit:finding:viewed"
    AUDIT_RESPONSE_RECORDED = "audit:response:recorded"
    AUDIT_RESPONSE_REFUSED = "audit:response:refused"


def cli_actor() -> str:
    """The operating-system user behind a CLI command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@dataclass(frozen=True)
class EventLog:
    session: Session

    def record(self, action: Action, subject: str, actor: str, **details: Any) -> Event:
        """Append one entry; details must not carry secrets (they are stored in clear)."""
        self._lock_chain()
        last = self.session.exec(select(Event).order_by(col(Event.seq).desc()).limit(1)).first()
        entry = ChainEntry(
            seq=(last.seq + 1) if last else 1,
            occurred_at=utcnow().isoformat(timespec="microseconds"),
            actor=actor,
            action=str(action),
            subject=subject,
            payload=canonical_json(details),
            prev_hash=last.hash if last else GENESIS,
        )
        event = Event(**{**entry.__dict__, "hash": entry_hash(entry)})
        self.session.add(event)
        self.session.flush()
        return event

    def _lock_chain(self) -> None:
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})

    def entries(self, batch: int = 5000) -> Iterator[ChainEntry]:
        after = 0
        while True:
            rows = self.session.exec(
                select(Event).where(Event.seq > after).order_by(col(Event.seq)).limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                yield ChainEntry(
                    row.seq,
                    row.occurred_at,
                    row.actor,
                    row.action,
                    row.subject,
                    row.payload,
                    row.prev_hash,
                    row.hash,
                )
            after = rows[-1].seq

    def verify(self) -> tuple[int, ChainBreak | None]:
        """(entries checked, first break or None), streaming the log in order."""
        count = 0

        def counted() -> Iterator[ChainEntry]:
            nonlocal count
            for entry in self.entries():
                count += 1
                yield entry

        problem = find_break(counted())
        return count, problem

    def for_subject(self, subject: str) -> list[Event]:
        return list(
            self.session.exec(
                select(Event).where(Event.subject == subject).order_by(col(Event.seq))
            )
        )
