"""Readable copies: what of a destroyed file or agreement could still be read.

A certificate of destruction states that no readable copy remains; this is
the check behind that statement, run by the purge before it signs and again,
later, by `verify-certificate --against-store`.  A copy is readable when a
stored blob with the same plaintext SHA-256 still has a data key (and, when
asked to `decrypt`, actually decrypts), or when a row of the agreement is
still in `exam_results`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from eventlog.log import EventLog
from exchange.models import Delivery, ExamResult, StoredBlob, delivery_scope
from exchange.vault import Vault
from kernel import sealing
from retention.certificates import Certificate
from retention.events import RetentionEvent


@dataclass(frozen=True)
class ReadableCopy:
    """A blob that still holds the bytes of a destroyed file, and who points at it."""

    sha256: str
    blob_id: str
    delivery_id: int | None  # None: a blob no delivery refers to
    status: str | None

    def describe(self) -> str:
        holder = (
            f"delivery {self.delivery_id} ({self.status})"
            if self.delivery_id is not None
            else "no delivery"
        )
        return f"blob {self.blob_id} ({holder}) still holds a readable copy of {self.sha256}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Remaining:
    """What survives of a destruction; empty means the certificate's claim holds."""

    copies: tuple[ReadableCopy, ...]
    rows: int  # rows of the agreement still in exam_results
    field_keys: tuple[str, ...] = ()  # scopes whose field key still exists (backups readable)
    unreadable_rows: int = 0  # rows present (a restored backup) but sealed under a destroyed key

    def __bool__(self) -> bool:
        return bool(self.copies) or self.rows > 0 or bool(self.field_keys)

    def describe(self) -> str:
        parts = [c.describe() for c in self.copies]
        if self.rows:
            parts.append(f"{self.rows} rows of the agreement are still stored")
        parts += [f"the field key of {scope} still exists" for scope in self.field_keys]
        return "; ".join(parts)


def remaining(
    session: Session,
    sha256s: Iterable[str],
    agreement_id: str,
    vault: Vault | None = None,
) -> Remaining:
    """Live copies of files with these hashes, and rows left of `agreement_id`.

    With `vault`, a blob counts only if it decrypts end to end (a later check
    against a restored store); without, a data key not yet destroyed is enough
    (the purge's own check, inside its transaction).
    """
    wanted = sorted(set(sha256s))
    copies: list[ReadableCopy] = []
    if wanted:
        live = select(StoredBlob.id, StoredBlob.sha256).where(
            col(StoredBlob.sha256).in_(wanted), col(StoredBlob.wrapped_key).is_not(None)
        )
        for blob_id, sha256 in session.exec(live.order_by(col(StoredBlob.id))):
            if vault is not None and vault.check(blob_id) is not None:
                continue
            copies.extend(_holders(session, sha256, blob_id))
    rows = session.exec(
        select(func.count()).select_from(ExamResult).where(ExamResult.agreement_id == agreement_id)
    ).one()
    return Remaining(tuple(copies), rows)


def _holders(session: Session, sha256: str, blob_id: str) -> list[ReadableCopy]:
    query = select(Delivery.id, Delivery.status).where(Delivery.blob_id == blob_id)
    holders = [
        ReadableCopy(sha256, blob_id, delivery_id, status)
        for delivery_id, status in session.exec(query.order_by(col(Delivery.id)))
    ]
    return holders or [ReadableCopy(sha256, blob_id, None, None)]


def check_against_store(vault: Vault, certificate: Certificate, actor: str) -> Remaining:
    """Re-check a certificate's "no readable copy remains" against this installation; logged,
    since it decrypts whatever copies it finds."""
    files = [f.sha256 for f in certificate.files]
    left = remaining(vault.session, files, certificate.agreement_id, vault)
    keys = sealing.keys_of(vault.session.get_bind())
    scopes = [f"agreement:{certificate.agreement_id}"]
    scopes += [delivery_scope(f.delivery_id) for f in certificate.files]
    live = tuple(scope for scope in scopes if keys.exists(scope))
    readable = scopes[0] in live  # a row sealed under a destroyed key is not a copy
    left = Remaining(
        left.copies, left.rows if readable else 0, live, 0 if readable else left.rows
    )
    EventLog(vault.session).record(
        RetentionEvent.CERTIFICATE_CHECKED, f"agreement:{certificate.agreement_id}", actor,
        certificate_id=certificate.certificate_id, readable_blobs=[c.blob_id for c in left.copies],
        rows_remaining=left.rows, rows_unreadable=left.unreadable_rows,
    )  # fmt: skip
    return left
