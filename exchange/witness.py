"""Witnessed checkpoints: signed tree heads kept where the database's attacker cannot rewrite
them.

Someone holding the database can rewrite the whole event log and its hash chain, and plain
`verify` passes.  A signed checkpoint (`eventlog.checkpoints`) pins the log's history, but
only if the checkpoint itself is out of that attacker's reach.  A witness is that place:

- `s3://bucket/prefix`: a bucket created with S3 Object Lock; every checkpoint is written
  once, in COMPLIANCE mode, retained for `checkpoint_retention_days`: nobody, the bucket's
  owner included, can overwrite or delete it before then.  A bucket without object lock is
  refused.
- a directory (`/path` or `file:///path`), a second blob store on other storage (another
  host's mount, a WORM volume): files are created once (never overwritten) and read-only.

`witness_checkpoint` signs the log's head and keeps it; `verify_latest` checks the log
against the newest one kept.  Names sort by tree size, so the newest is the last.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from eventlog.checkpoints import (
    CheckpointCheck,
    SignedCheckpoint,
    check_log,
    make_checkpoint,
    read_checkpoint,
)
from kernel.clock import utcnow
from kernel.errors import CredxError, IntegrityFailure, InvalidInput
from kernel.settings import Settings


class CheckpointWitness(Protocol):
    def keep(self, name: str, data: bytes) -> str:
        """Store `data` once under `name`; returns where it went.  Never overwrites."""
        ...

    def latest(self) -> tuple[str, bytes] | None:
        """The newest checkpoint kept (where, bytes), or None when there is none."""
        ...


def checkpoint_name(signed: SignedCheckpoint) -> str:
    head = signed.checkpoint
    stamp = head.timestamp.replace(":", "").replace("-", "").replace("+0000", "Z")
    return f"checkpoint-{head.tree_size:012d}-{stamp}.json"


class DirectoryWitness:
    """Checkpoint files in a directory of their own, created once and made read-only."""

    def __init__(self, root: Path):
        self.root = root

    def keep(self, name: str, data: bytes) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            raise InvalidInput(f"{path} exists; checkpoints are never overwritten") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return str(path)

    def latest(self) -> tuple[str, bytes] | None:
        found = sorted(self.root.glob("checkpoint-*.json")) if self.root.is_dir() else []
        return (str(found[-1]), found[-1].read_bytes()) if found else None


class S3Witness:
    """Checkpoints as objects under object lock (COMPLIANCE) in `s3://bucket/prefix`."""

    def __init__(self, bucket: str, prefix: str, client: Any, retention_days: int):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self.retention = timedelta(days=retention_days)

    def _check_lock(self) -> None:
        try:
            found = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except Exception:  # no configuration at all is an error from S3
            found = {}
        enabled = found.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        if not enabled:
            raise CredxError(
                f"bucket {self.bucket} has no S3 Object Lock: a checkpoint there could be "
                "deleted or replaced; create the witness bucket with object lock enabled",
                hint="aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket",
            )

    def keep(self, name: str, data: bytes) -> str:
        self._check_lock()
        key = self.prefix + name
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType="application/json",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=utcnow() + self.retention,
            ChecksumAlgorithm="SHA256",
        )  # fmt: skip
        return f"s3://{self.bucket}/{key}"

    def latest(self) -> tuple[str, bytes] | None:
        newest = None
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "checkpoint-"
        ):
            for item in page.get("Contents", []):
                newest = max(newest or item["Key"], item["Key"])
        if newest is None:
            return None
        body = self.client.get_object(Bucket=self.bucket, Key=newest)["Body"].read()
        return f"s3://{self.bucket}/{newest}", body


def open_witness(settings: Settings) -> CheckpointWitness:
    """The witness `checkpoint_witness_url` names; refuses an unset one."""
    url = settings.checkpoint_witness_url
    if not url:
        raise InvalidInput(
            "no checkpoint witness is configured: set CREDX_CHECKPOINT_WITNESS_URL to an "
            "S3 bucket with object lock (s3://bucket/prefix) or a directory on other storage"
        )
    parsed = urlparse(url)
    if parsed.scheme == "s3" and parsed.netloc:
        from exchange.s3 import s3_client  # boto3 loads only when S3 is used

        client = s3_client(endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                           profile=settings.s3_profile)  # fmt: skip
        return S3Witness(parsed.netloc, parsed.path, client, settings.checkpoint_retention_days)
    if parsed.scheme in ("", "file"):
        return DirectoryWitness(Path(parsed.path if parsed.scheme else url))
    raise InvalidInput(f"unsupported checkpoint witness URL {url!r}: use s3://bucket/prefix "
                       "or a directory")  # fmt: skip


@dataclass(frozen=True)
class Witnessed:
    signed: SignedCheckpoint
    where: str


def witness_checkpoint(
    session: Session, key: Ed25519PrivateKey, witness: CheckpointWitness, actor: str
) -> Witnessed:
    """Sign the log's head and keep it with the witness (its event is in the caller's
    transaction: no checkpoint kept, no event)."""
    import json

    signed = make_checkpoint(session, key, actor)
    data = (json.dumps(signed.document(), indent=2, sort_keys=True) + "\n").encode()
    return Witnessed(signed, witness.keep(checkpoint_name(signed), data))


def verify_latest(
    session: Session, witness: CheckpointWitness, public_key: bytes, scratch: Path
) -> tuple[str, CheckpointCheck]:
    """Check the log against the newest witnessed checkpoint: (where it was, the check)."""
    found = witness.latest()
    if found is None:
        raise IntegrityFailure(
            "the witness holds no checkpoint yet: nothing proves the log's history",
            hint="run `credx log checkpoint --witness` (the worker does it daily)",
        )
    where, data = found
    copy = scratch / "latest-checkpoint.json"
    copy.write_bytes(data)
    return where, check_log(session, read_checkpoint(copy, public_key))
