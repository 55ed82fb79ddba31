"""Signed log checkpoints: a tree head an outside party keeps, to prove history unchanged.

A checkpoint states: this log (origin), its first `tree_size` entries, their
RFC 9162 Merkle root (`eventlog.merkle`, leaf data = each entry's 32-byte chain
hash), and when it was taken.  The canonical JSON of the checkpoint (sorted
keys, no spaces, UTF-8) is signed with the installation's Ed25519 signing key,
the same key that signs certificates of destruction.  The file carries the
checkpoint, the signature and the raw public key:

    {"checkpoint": {"kind", "origin", "tree_size", "root_hash", "timestamp",
                    "signing_key_id"},
     "signature": base64, "public_key": base64}

Verifying one against the current log fails, naming the cause, when the log
has fewer entries than the checkpoint (truncation), when its first
`tree_size` entries no longer hash to the signed root (rewritten history, or
a chain quietly reset and rebuilt from scratch, which the hash chain alone
cannot see), or when the chain itself is broken.  A consistency proof
(RFC 9162 §2.1.4) from the checkpoint's size to the current size comes with
a successful check, so anyone keeping two checkpoints can confirm one
extends the other without reading the log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from eventlog import merkle
from eventlog.chain import ChainBreak, ChainEntry, find_break
from eventlog.events import LogEvent
from eventlog.log import EventLog
from kernel.clock import utcnow
from kernel.errors import IntegrityFailure, InvalidInput
from kernel.signing import (
    SignedDocument,
    key_id,
    public_bytes,
    sign_document,
    verify_signed_file,
)

KIND: Final = "credx/log-checkpoint/v1"
KIND_NAME = "log checkpoint"


class Checkpoint(BaseModel):
    """A signed tree head; strict, so a verified checkpoint is exactly what was signed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["credx/log-checkpoint/v1"] = KIND
    origin: str  # which log: "credx:" + the installation's signing key id
    tree_size: int = Field(ge=0)
    root_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    timestamp: str  # UTC ISO 8601, as signed
    signing_key_id: str = Field(pattern=r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: bytes
    public_key: bytes

    def document(self) -> dict[str, Any]:
        body = self.checkpoint.model_dump(mode="json")
        return SignedDocument("checkpoint", body, self.signature, self.public_key).document()


@dataclass(frozen=True)
class LogSnapshot:
    """The log's leaf hashes in order, and the first chain break if there is one."""

    leaves: list[bytes]
    problem: ChainBreak | None


@dataclass(frozen=True)
class CheckpointCheck:
    checkpoint: Checkpoint
    entries: int
    problem: str | None
    first_bad_seq: int | None
    current_root: str
    consistency_proof: list[str]

    @property
    def ok(self) -> bool:
        return self.problem is None


def origin_for(public_key: bytes) -> str:
    return f"credx:{key_id(public_key)}"


def snapshot(session: Session) -> LogSnapshot:
    """Stream the log once: check the chain and collect every entry's leaf hash."""
    leaves: list[bytes] = []

    def collecting() -> Iterator[ChainEntry]:
        for entry in EventLog(session).entries():
            leaves.append(merkle.leaf_hash(bytes.fromhex(entry.hash)))
            yield entry

    entries = collecting()
    problem = find_break(entries)
    for _ in entries:  # find_break stops at a break: still count the rest
        pass
    return LogSnapshot(leaves, problem)


def make_checkpoint(session: Session, key: Ed25519PrivateKey, actor: str) -> SignedCheckpoint:
    """Sign the current tree head and record that it was taken; refuses a broken chain."""
    current = snapshot(session)
    if current.problem is not None:
        raise IntegrityFailure(
            f"the event log is broken at entry {current.problem.seq} ({current.problem.problem}); "
            "a checkpoint would vouch for damaged history: verify the log and repair it first",
            hint="run `credx log verify`",
        )
    public = public_bytes(key.public_key())
    checkpoint = Checkpoint(
        origin=origin_for(public),
        tree_size=len(current.leaves),
        root_hash=merkle.root(current.leaves).hex(),
        timestamp=utcnow().isoformat(timespec="seconds"),
        signing_key_id=key_id(public),
    )
    signature = sign_document("checkpoint", checkpoint.model_dump(mode="json"), key).signature
    EventLog(session).record(
        LogEvent.LOG_CHECKPOINTED,
        f"log:checkpoint:{checkpoint.tree_size}",
        actor,
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        signing_key_id=checkpoint.signing_key_id,
    )
    return SignedCheckpoint(checkpoint, signature, public)


def write_checkpoint(signed: SignedCheckpoint, path: Path) -> None:
    """Write the checkpoint file; never overwrites one (an older checkpoint is evidence)."""
    text = json.dumps(signed.document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise InvalidInput(f"{path} already exists; checkpoints are never overwritten") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def read_checkpoint(path: Path, trusted_public_key: bytes) -> Checkpoint:
    """A checkpoint file's content, once its signature checks out under the trusted key."""
    return verify_signed_file(
        path, Checkpoint, body_field="checkpoint", kind=KIND_NAME,
        trusted_public_key=trusted_public_key, trusted="this installation's signing key",
    )  # fmt: skip


def check_log(session: Session, checkpoint: Checkpoint) -> CheckpointCheck:
    """Does the current log still contain the checkpoint's history, unchanged?"""
    current = snapshot(session)
    leaves, new_root = current.leaves, merkle.root(current.leaves)
    problem = _first_problem(checkpoint, current)
    proof: list[bytes] = []
    if problem is None:
        proof = merkle.consistency_proof(checkpoint.tree_size, leaves)
        old_root = bytes.fromhex(checkpoint.root_hash)
        proved = merkle.verify_consistency(
            checkpoint.tree_size, len(leaves), old_root, new_root, proof
        )
        assert proved, "a consistency proof built from the log itself must verify"
    return CheckpointCheck(
        checkpoint=checkpoint,
        entries=len(leaves),
        problem=problem,
        first_bad_seq=current.problem.seq if current.problem else None,
        current_root=new_root.hex(),
        consistency_proof=[p.hex() for p in proof],
    )


def _first_problem(checkpoint: Checkpoint, current: LogSnapshot) -> str | None:
    size, count = checkpoint.tree_size, len(current.leaves)
    if current.problem is not None:
        return f"entry {current.problem.seq}: {current.problem.problem}"
    if count < size:
        return (
            f"the log has {count} entries but the checkpoint of {checkpoint.timestamp} covers "
            f"{size}: entries were removed (truncated)"
        )
    if merkle.root(current.leaves, 0, size).hex() != checkpoint.root_hash:
        return (
            f"the first {size} entries no longer hash to the root signed at "
            f"{checkpoint.timestamp}: the history was rewritten or the chain was reset"
        )
    return None
