"""The vault: put files in encrypted, get them back verified, rotate master keys.

It ties the blob store (ciphertext only), the master keys (local key files,
or AWS KMS: `exchange.keys`) and the `blobs` table (wrapped data keys,
plaintext hash and size) together.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import func
from sqlmodel import Session, col, select

from eventlog.log import EventLog
from exchange import crypto
from exchange.events import ExchangeEvent
from exchange.keys import KeyProvider, master_keys
from exchange.models import StoredBlob
from exchange.storage import BlobStore, StorageUnavailable, out_of_service, store_key_for
from kernel import sealing
from kernel.clock import utcnow
from kernel.errors import CredxError, IntegrityFailure, NotFound

READ_CHUNK = 1 << 20
FIELD = "field:"  # master_key_id of a data key wrapped by a field key (`bind_to_scope`)
log = logging.getLogger("credx.storage")


def file_chunks(path: Path, size: int = READ_CHUNK) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


class Vault:
    def __init__(
        self, session: Session, store: BlobStore, keyring: crypto.KeyRing,
        kms: KeyProvider | None = None,
    ):  # fmt: skip
        """`kms`, when given, wraps new data keys; the key files still unwrap their own."""
        self.session = session
        self.store = store
        self.keyring = keyring
        self.keys = master_keys(keyring, kms)

    def put(self, chunks: Iterable[bytes]) -> StoredBlob:
        """Encrypt and store a stream; hash and size are of the plaintext as received."""
        self.keys.active_id()  # no key, no file: refuse before reading the stream
        blob_id = uuid.uuid4().hex
        data_key = crypto.new_data_key()
        digest = hashlib.sha256()
        size = 0

        def measured() -> Iterator[bytes]:
            nonlocal size
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                yield chunk

        key = store_key_for(blob_id)
        try:
            self.store.write(key, crypto.encrypt_stream(data_key, blob_id, measured()))
        except OSError as exc:
            if not out_of_service(exc):
                raise
            log.warning("blob store write failed: %s", exc)  # keys and errno, no file content
            raise StorageUnavailable(
                "the file could not be stored (the blob store is full or unreachable) and "
                "nothing was kept; send it again later. The operator has been alerted in the "
                "service log."
            ) from None
        master_id, wrapped = self.keys.wrap(blob_id, data_key)
        blob = StoredBlob(
            id=blob_id,
            store_key=key,
            sha256=digest.hexdigest(),
            size=size,
            master_key_id=master_id,
            wrapped_key=wrapped,
        )
        self.session.add(blob)
        self.session.flush()
        return blob

    def put_file(self, path: Path) -> StoredBlob:
        return self.put(file_chunks(path))

    def open(self, blob_id: str) -> Iterator[bytes]:
        """Yield the plaintext; `IntegrityFailure` if the blob was altered in any way."""
        blob = self.session.get(StoredBlob, blob_id)
        if blob is None:
            raise NotFound(f"no blob {blob_id}")
        if blob.wrapped_key is None:
            raise CredxError(
                f"blob {blob_id} was destroyed (crypto-shredded) on {blob.shredded_at}"
            )
        data_key = self._unwrap(blob.master_key_id, blob_id, blob.wrapped_key)
        digest = hashlib.sha256()
        with self.store.open(blob.store_key) as stream:
            header = crypto.read_header(stream)
            if header.blob_id != blob_id:
                raise IntegrityFailure(f"blob {blob_id} holds the content of blob {header.blob_id}")
            for chunk in crypto.decrypt_stream(data_key, header, stream):
                digest.update(chunk)
                yield chunk
        if digest.hexdigest() != blob.sha256:
            raise IntegrityFailure(f"blob {blob_id} does not match its recorded sha256")

    def read_bytes(self, blob_id: str) -> bytes:
        return b"".join(self.open(blob_id))

    def check(self, blob_id: str) -> str | None:
        """Decrypt a blob end to end and discard the plaintext: None if it reads back whole
        and matches its recorded SHA-256, else why not.

        A restore drill: it proves that the keys, the database and the blob store
        restored belong together.
        """
        try:
            for _ in self.open(blob_id):
                pass
        except FileNotFoundError:
            return f"blob {blob_id} is missing from the blob store"
        except CredxError as exc:
            return str(exc)
        return None

    def live_blob_ids(self, sample: int | None = None) -> tuple[list[str], int]:
        """Ids of blobs not crypto-shredded (a random SAMPLE of them, if given) and their total."""
        live = select(StoredBlob.id).where(StoredBlob.wrapped_key.is_not(None))  # type: ignore[union-attr]
        ids = sorted(self.session.exec(live))
        if sample is None or sample >= len(ids):
            return ids, len(ids)
        return sorted(secrets.SystemRandom().sample(ids, sample)), len(ids)

    def rotate_master_key(self) -> tuple[str, int]:
        """Roll the active provider to a new master key (a new key file; for KMS, the key's
        current material) and re-wrap every live data key under it, whoever wrapped it."""
        new_id = self.keys.active.rotate()
        count = 0
        live = select(StoredBlob).where(
            StoredBlob.wrapped_key.is_not(None),  # type: ignore[union-attr]
            col(StoredBlob.master_key_id).not_like(f"{FIELD}%"),  # their field keys rotate
        )
        for blob in self.session.exec(live):
            wrapped = blob.wrapped_key
            assert wrapped is not None  # selected for having one
            data_key = self.keys.unwrap(blob.master_key_id, blob.id, wrapped)
            blob.master_key_id, blob.wrapped_key = self.keys.wrap(blob.id, data_key)
            count += 1
        self.session.flush()
        return new_id, count

    def key_holders(self) -> list[dict[str, Any]]:
        """Each master key live data keys are wrapped under, its provider and how many."""
        query = (
            select(StoredBlob.master_key_id, func.count())
            .where(StoredBlob.wrapped_key.is_not(None))  # type: ignore[union-attr]
            .group_by(StoredBlob.master_key_id)
        )
        return [
            {"key_id": key_id, "provider": self._provider_name(key_id), "data_keys": n,
             "active": key_id == self.keys.active_id()}
            for key_id, n in sorted(self.session.exec(query).all())
        ]  # fmt: skip

    def _provider_name(self, key_id: str) -> str:
        return "field-key" if key_id.startswith(FIELD) else self.keys.provider_name(key_id)

    def _unwrap(self, key_id: str, blob_id: str, wrapped: bytes) -> bytes:
        if not key_id.startswith(FIELD):
            return self.keys.unwrap(key_id, blob_id, wrapped)
        cipher = sealing.keys_of(self.session.get_bind()).cipher(key_id[len(FIELD) :])
        if cipher is None:
            raise CredxError(
                f"blob {blob_id} was destroyed (crypto-shredded): the field key that wrapped its "
                "data key no longer exists"
            )
        try:
            return cipher.decrypt(wrapped[:12], wrapped[12:], b"credx-dk:" + blob_id.encode())
        except InvalidTag:
            raise IntegrityFailure(
                f"data key of blob {blob_id} does not unwrap under its field key "
                "(the key record was altered)"
            ) from None

    def bind_to_scope(self, blob_id: str, scope: str) -> None:
        """Re-wrap a blob's data key under `scope`'s field key (a delivery's), which lives
        outside the database: destroying it shreds the file in every database backup too."""
        blob = self.session.get(StoredBlob, blob_id)
        if blob is None or blob.wrapped_key is None:
            raise NotFound(f"no live blob {blob_id}")
        data_key = self._unwrap(blob.master_key_id, blob_id, blob.wrapped_key)
        key_id, cipher = sealing.keys_of(self.session.get_bind()).key_for(scope)
        nonce = secrets.token_bytes(12)
        sealed = cipher.encrypt(nonce, data_key, b"credx-dk:" + blob_id.encode())
        blob.wrapped_key, blob.master_key_id = nonce + sealed, FIELD + key_id
        self.session.flush()

    def discard(self, blob: StoredBlob) -> None:
        """Remove a blob nothing refers to (e.g. the second copy of a duplicate delivery)."""
        self.session.delete(blob)
        self.session.flush()
        self.store.delete(blob.store_key)

    def shred(self, blob_id: str) -> None:
        """Destroy the data key (crypto-shredding) and delete the ciphertext."""
        blob = self.session.get(StoredBlob, blob_id)
        if blob is None:
            raise NotFound(f"no blob {blob_id}")
        blob.wrapped_key = None
        blob.shredded_at = utcnow()
        self.session.flush()
        self.store.delete(blob.store_key)

    def destroy_key(self, blob_id: str) -> str | None:
        """Destroy a blob's data key in this transaction, leaving its ciphertext for the caller
        to delete once the transaction can no longer fail; returns its store key, or None if
        the key was already destroyed (the first `shredded_at` is kept)."""
        blob = self.session.get(StoredBlob, blob_id)
        if blob is None:
            raise NotFound(f"no blob {blob_id}")
        if blob.wrapped_key is None:
            return None
        blob.wrapped_key = None
        blob.shredded_at = utcnow()
        self.session.flush()
        return blob.store_key


@dataclass(frozen=True)
class BlobFailure:
    blob_id: str
    error: str


@dataclass(frozen=True)
class StoredFilesCheck:
    """What the restore drill found: live blobs, how many were checked, which failed."""

    blobs_total: int
    blobs_checked: int
    failures: list[BlobFailure]
    keys: list[dict[str, Any]] = field(default_factory=list)  # which provider holds each key

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def check_stored_files(vault: Vault, sample: int | None, actor: str) -> StoredFilesCheck:
    """Decrypt SAMPLE random live blobs (all if None) and report those that fail; logged.

    The restore drill behind `credx keys check` (deploy/RUNBOOK.md).
    """
    ids, total = vault.live_blob_ids(sample)
    failures = [
        BlobFailure(blob_id, error)
        for blob_id in ids
        if (error := vault.check(blob_id)) is not None
    ]
    EventLog(vault.session).record(
        ExchangeEvent.BLOBS_CHECKED, "keys:blobs", actor, checked=len(ids),
        failed=[failure.blob_id for failure in failures],
    )  # fmt: skip
    return StoredFilesCheck(
        blobs_total=total, blobs_checked=len(ids), failures=failures, keys=vault.key_holders()
    )
