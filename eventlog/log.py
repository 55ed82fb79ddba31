"""Writing to and verifying the event log.

Every step that touches student data or keys records an event here: who did
what to which record, when.  The log is append-only (database triggers refuse
UPDATE and DELETE) and hash-chained (`eventlog.chain`), so an edit made around
the triggers is still detected by `verify_log`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from eventlog.chain import GENESIS, ChainBreak, ChainEntry, entry_hash, find_break
from eventlog.models import Event
from eventlog.tags import EventTag
from kernel.canonical import canonical_text
from kernel.clock import utcnow

CHAIN_LOCK_ID = 0x637265647801  # PostgreSQL advisory lock serialising appends
_TAIL = "eventlog.tail"  # session.info key: (transaction, seq, hash) of the last append


def cli_actor() -> str:
    """The operating-system user behind a CLI command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@dataclass(frozen=True)
class EventLog:
    session: Session

    def record(self, action: EventTag, subject: str, actor: str, **details: Any) -> Event:
        """Append one entry; details must not carry secrets (they are stored in clear)."""
        seq, prev_hash = self._tail()
        entry = ChainEntry(
            seq=seq + 1,
            occurred_at=utcnow().isoformat(timespec="microseconds"),
            actor=actor,
            action=str(action),
            subject=subject,
            payload=canonical_text(details),
            prev_hash=prev_hash,
        )
        event = Event(**{**entry.__dict__, "hash": entry_hash(entry)})
        self.session.add(event)
        self.session.flush()
        self.session.info[_TAIL] = (self._transaction(), event.seq, event.hash)
        return event

    def _tail(self) -> tuple[int, str]:
        """(seq, hash) of the last entry, the chain locked for this transaction.

        The first append of a transaction (or savepoint) takes the lock and reads the
        tail; later appends in the same one reuse what the previous append wrote: the
        lock (PostgreSQL) or the write lock of its insert (SQLite) keeps other writers
        out until commit, so nobody else can have appended since.  A savepoint rolled
        back, or a new transaction, is another transaction object: read again.
        """
        cached = self.session.info.get(_TAIL)
        if cached is not None and cached[0] is self._transaction():
            return cached[1], cached[2]
        self._lock_chain()
        last = self.session.exec(select(Event).order_by(col(Event.seq).desc()).limit(1)).first()
        return (last.seq, last.hash) if last else (0, GENESIS)

    def _transaction(self) -> object:
        """The innermost transaction open on the session (a savepoint, else the root)."""
        return self.session.get_nested_transaction() or self.session.get_transaction()

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
