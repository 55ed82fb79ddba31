"""Hash chaining for the event log: pure functions, no I/O.

entry_hash = SHA-256 over the RFC 8785 canonical JSON (`kernel.canonical`) of
{seq, occurred_at, actor, action, subject, payload, prev_hash}, where
`payload` is itself the canonical JSON string of the event's details.  (The
body holds only strings and an integer with ASCII keys, for which RFC 8785 and
the sorted-keys `json.dumps` that wrote the first entries give the same bytes.)  The
first entry's prev_hash is 64 zeros.  Anyone can re-implement this check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from kernel.canonical import canonical_json

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    occurred_at: str
    actor: str
    action: str
    subject: str
    payload: str
    prev_hash: str
    hash: str = ""


def entry_hash(entry: ChainEntry) -> str:
    body = {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def find_break(entries: Iterable[ChainEntry]) -> ChainBreak | None:
    """The first entry that is altered, out of sequence or not linked to its predecessor."""
    expected_prev, expected_seq = GENESIS, 1
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainBreak(entry.seq, f"sequence jumps from {expected_seq - 1} to {entry.seq}")
        if entry.prev_hash != expected_prev:
            return ChainBreak(entry.seq, "prev_hash does not match the previous entry's hash")
        if entry_hash(entry) != entry.hash:
            return ChainBreak(entry.seq, "content does not match its hash (entry was altered)")
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    return None
