"""Retention: destroying an agreement's data once its retention period has passed.

FERPA (34 CFR 99.31(a)(6)(iii)(B), 99.35(b)(2)) requires a written agreement
to name the time by which disclosed data are destroyed; `Terms.destroy_after`
is that day.  From then on a purge deletes every exam result loaded under the
agreement and crypto-shreds the originals of the files they came in, so
copies of the blob store in backups become unreadable too.

A file can serve several states (multi-state agreements): its original, and
the rejected rows that quote it, go only when *every* agreement that covers
the file is purged; until then only the purged agreement's rows are deleted
and the certificate lists the file as retained.  The `deliveries` row itself
stays as the record that a file with that name, hash and size was received.

Every copy is governed.  A destroyed file takes with it every other delivery
of the same bytes (same SHA-256) that no live agreement covers: the copy
quarantined before the agreement was in force, the copy a mapping rejected
whole, duplicates.  Deliveries that belong to no agreement at all
(quarantined, rejected, never processed) fall under a vendor-level rule
instead: they are destroyed `unassigned_retention_days` after receipt, as
no agreement authorises keeping them.  Before a certificate is signed the
purge checks, in its own transaction, that no blob with a listed file's hash
still has a data key and no row of the agreement remains
(`retention.copies`); otherwise it refuses, destroys nothing and logs why.

`plan_purge` only reads (it is the dry run); `purge` executes a plan inside
the caller's transaction; `run_purge` is the job boundary the CLI and the
daily schedule share: it signs and writes the certificates and commits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, text, update
from sqlmodel import Session, col

from agreements.models import Agreement
from agreements.store import get_agreement
from eventlog.log import EventLog
from exchange.models import (
    ExamResult,
    RejectedRow,
    delivery_scope,
)
from exchange.resources import Resources
from exchange.vault import Vault
from kernel import sealing
from kernel.clock import today as utc_today
from kernel.clock import utcnow
from kernel.database import unit_of_work
from kernel.errors import Refusal
from kernel.rows import rowcount
from kernel.signing import ensure_signing_key, key_id, public_bytes
from linkage.retention import forget_exam_rows
from retention.certificates import (
    Certificate,
    DestroyedCopy,
    DestroyedFile,
    RetainedFile,
    SignedCertificate,
    sign_certificate,
    write_certificate,
)
from retention.copies import remaining
from retention.events import RetentionEvent
from retention.plans import (
    AgreementPlan,
    DeliveryPlan,
    PurgePlan,
    plan_agreements,
    plan_purge,
    purged_ids,
    unassigned_due,
)

PURGE_LOCK_ID = 0x637265647802  # PostgreSQL advisory lock: one purge at a time
SCHEDULER_ACTOR = "scheduler:retention"


# the purge --------------------------------------------------------------------------------
def purge(
    session: Session,
    vault: Vault,
    plan: PurgePlan,
    actor: str,
    *,
    signing_key: Ed25519PrivateKey,
) -> list[SignedCertificate]:
    """Destroy what `plan` names, in the caller's transaction; one certificate per agreement.

    Each agreement is first claimed (`purged_at` set only if still unset),
    then its work is recounted under that claim, so a purge that raced
    another, or a plan that went stale, never certifies rows it did not
    delete; an agreement someone else purged meanwhile is skipped.  Data keys
    are destroyed, then `retention.copies` checks that nothing listed can
    still be read: if anything can, the purge raises a `Refusal` naming it
    (the caller rolls back; nothing was deleted from the blob store).  Only
    then is ciphertext deleted and each certificate signed.
    """
    _serialise_purges(session)
    now = utcnow()
    claimed = [a.agreement_id for a in plan.agreements if _claim(session, a.agreement_id, now)]
    agreements = [get_agreement(session, a) for a in claimed]
    work = plan_agreements(session, agreements, purged_ids(session))
    unassigned = (
        unassigned_due(session, plan.today, plan.unassigned_days)
        if plan.unassigned_days is not None
        else ()
    )
    rejected_deleted: dict[int, int] = {}
    done = []
    for item in work:
        rows = sum(
            _delete_rows(session, item.agreement_id, d.delivery_id)
            for d in item.deliveries
            if d.rows
        )
        for d in item.deliveries:
            if d.destroy_file:
                _delete_rejected_once(session, d, rejected_deleted)
        done.append((item, rows))
    for d in unassigned:
        _delete_rejected_once(session, d, rejected_deleted)
    blobs = sorted({b for i in work for d in i.deliveries if d.destroy_file for b in d.blob_ids}
                   | {b for d in unassigned for b in d.blob_ids})  # fmt: skip
    store_keys = [key for b in blobs if (key := vault.destroy_key(b)) is not None]
    for item, _rows in done:
        _refuse_if_readable(session, item, actor)
    _record_unassigned(session, unassigned, rejected_deleted, actor)
    for key in store_keys:
        vault.store.delete(key)
    signed = []
    for item, rows in done:
        certificate = _certificate(item, rows, rejected_deleted, now, actor, signing_key)
        signed.append(sign_certificate(certificate, signing_key))
        _record(session, item, signed[-1], actor)
    return signed


def _delete_rejected_once(session: Session, d: DeliveryPlan, deleted: dict[int, int]) -> None:
    for delivery_id in [d.delivery_id, *(c.delivery_id for c in d.copies)]:
        if delivery_id not in deleted:
            deleted[delivery_id] = _delete_rejected(session, delivery_id)


def _refuse_if_readable(session: Session, item: AgreementPlan, actor: str) -> None:
    """The check behind the certificate's "no readable copy remains"."""
    listed = [d.sha256 for d in item.deliveries if d.destroy_file]
    left = remaining(session, listed, item.agreement_id)
    if not left:
        return
    reason = left.describe()

    def record(fresh: Session) -> None:
        EventLog(fresh).record(
            RetentionEvent.PURGE_REFUSED, f"agreement:{item.agreement_id}", actor,
            reason=reason, blobs=[c.blob_id for c in left.copies], rows=left.rows,
        )  # fmt: skip

    raise Refusal(
        f"the certificate of destruction for agreement {item.agreement_id} was not signed and "
        f"nothing was destroyed: {reason}. Find out what holds that copy, destroy it or "
        "record why it is kept, then purge again",
        record=record,
    )


def _record_unassigned(
    session: Session, unassigned: Iterable[DeliveryPlan], rejected: dict[int, int], actor: str
) -> None:
    by_vendor: dict[str, list[DeliveryPlan]] = defaultdict(list)
    for d in unassigned:
        by_vendor[d.vendor].append(d)
    for vendor, plans in sorted(by_vendor.items()):
        EventLog(session).record(
            RetentionEvent.UNASSIGNED_DESTROYED, f"vendor:{vendor}", actor,
            deliveries=[d.delivery_id for d in plans],
            sha256=[d.sha256 for d in plans],
            rejected_rows_destroyed=sum(rejected.get(d.delivery_id, 0) for d in plans),
            reason="received under no agreement; vendor-level retention ended",
        )  # fmt: skip


def _serialise_purges(session: Session) -> None:
    # two purges of different agreements sharing a file would each see the other's
    # agreement as live and both keep the file; SQLite's single writer does this anyway
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PURGE_LOCK_ID})


def _claim(session: Session, agreement_id: str, now: datetime) -> bool:
    result = session.execute(
        update(Agreement)
        .where(col(Agreement.id) == agreement_id, col(Agreement.purged_at).is_(None))
        .values(purged_at=now)
    )
    return rowcount(result) == 1


def _delete_rows(session: Session, agreement_id: str, delivery_id: int) -> int:
    forget_exam_rows(session, delivery_id, agreement_id)  # links derived from the rows go first
    # by delivery first: the primary key (delivery_id, row_number) finds the rows
    result = session.execute(
        delete(ExamResult)
        .where(col(ExamResult.delivery_id) == delivery_id)
        .where(col(ExamResult.agreement_id) == agreement_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _delete_rejected(session: Session, delivery_id: int) -> int:
    # rejected rows quote the file's values (names, birth dates): they go with the file
    result = session.execute(
        delete(RejectedRow)
        .where(col(RejectedRow.delivery_id) == delivery_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _certificate(
    item: AgreementPlan,
    rows: int,
    rejected_deleted: dict[int, int],
    now: datetime,
    actor: str,
    signing_key: Ed25519PrivateKey,
) -> Certificate:
    destroyed = [d for d in item.deliveries if d.destroy_file]
    copies = [c.delivery_id for d in destroyed for c in d.copies]
    return Certificate(
        certificate_id=str(uuid.uuid4()),
        agreement_id=item.agreement_id,
        agreement_version=item.version,
        vendor=item.vendor,
        states=item.states,
        reason=f"retention ended on {item.retention_ended.isoformat()}",
        destroyed_at=now.isoformat(timespec="seconds"),
        destroyed_by=actor,
        rows_destroyed=rows,
        rejected_rows_destroyed=sum(
            rejected_deleted[d] for d in [*(d.delivery_id for d in destroyed), *copies]
        ),
        files=tuple(_destroyed(d) for d in destroyed),
        files_retained=tuple(_retained(d) for d in item.deliveries if not d.destroy_file),
        signing_key_id=key_id(public_bytes(signing_key.public_key())),
        readable_copies_remaining=0,  # checked by `_refuse_if_readable` before signing
    )


def _destroyed(d: DeliveryPlan) -> DestroyedFile:
    return DestroyedFile(
        delivery_id=d.delivery_id, original_name=d.original_name, sha256=d.sha256, size=d.size,
        blob_id=d.blob_id,
        copies=tuple(
            DestroyedCopy(delivery_id=c.delivery_id, blob_id=c.blob_id, status=c.status)
            for c in d.copies
        ),
    )  # fmt: skip


def _retained(d: DeliveryPlan) -> RetainedFile:
    return RetainedFile(
        delivery_id=d.delivery_id, original_name=d.original_name, sha256=d.sha256, size=d.size,
        reason=d.kept_because or "",
    )  # fmt: skip


def _record(session: Session, item: AgreementPlan, signed: SignedCertificate, actor: str) -> None:
    cert = signed.certificate
    EventLog(session).record(
        RetentionEvent.AGREEMENT_PURGED, f"agreement:{item.agreement_id}", actor,
        version=item.version, certificate_id=cert.certificate_id,
        certificate_sha256=signed.sha256, rows_destroyed=cert.rows_destroyed,
        rejected_rows_destroyed=cert.rejected_rows_destroyed,
        files_destroyed=[f.delivery_id for f in cert.files],
        files_retained=[f.delivery_id for f in cert.files_retained],
    )  # fmt: skip


# the job ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PurgeRun:
    plan: PurgePlan
    dry_run: bool
    certificates: tuple[tuple[SignedCertificate, Path], ...] = ()


def run_purge(
    app: Resources,
    *,
    actor: str,
    agreement_id: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
) -> PurgeRun:
    """Plan, destroy, certify and commit: what `credx agreements purge` and the daily job run.

    The signing key is loaded (or made) before anything is destroyed, and the
    certificate files are written before the commit and removed if it fails,
    so there is neither a destruction without its certificate nor a
    certificate for a destruction that was rolled back.
    """
    day = today or utc_today()
    if dry_run:
        with Session(app.engine) as session:  # never committed
            plan = plan_purge(session, day, agreement_id, app.settings.unassigned_retention_days)
            return PurgeRun(plan, dry_run=True)
    signing_key = ensure_signing_key(app.keyring.directory)
    written: list[Path] = []
    try:
        with unit_of_work(app.engine) as session:
            plan = plan_purge(session, day, agreement_id, app.settings.unassigned_retention_days)
            signed = purge(session, app.vault(session), plan, actor, signing_key=signing_key)
            for certificate in signed:
                written.append(write_certificate(certificate, app.settings.reports_dir))
    except BaseException:
        for path in written:  # the commit failed, or something before it
            path.unlink(missing_ok=True)
        raise
    keys = sealing.keys_of(app.engine)
    destroyed = destroy_field_keys(keys, plan, signed)
    if destroyed:  # recorded so an operator can delete the same files from keys backups
        with unit_of_work(app.engine) as session:
            EventLog(session).record(
                RetentionEvent.FIELD_KEYS_DESTROYED, "keys:fields", actor,
                key_ids=[keys.key_id(scope) for scope in destroyed],
            )  # fmt: skip
    return PurgeRun(plan, dry_run=False, certificates=tuple(zip(signed, written, strict=True)))


def destroy_field_keys(
    keys: sealing.FieldKeys, plan: PurgePlan, signed: list[SignedCertificate]
) -> list[str]:
    """Once the purge has committed: destroy the field keys of what it destroyed, so the
    sealed values of those rows are unreadable in every database backup too."""
    scopes = [f"agreement:{s.certificate.agreement_id}" for s in signed]
    for cert in (s.certificate for s in signed):
        for f in cert.files:
            scopes += [delivery_scope(f.delivery_id)]
            scopes += [delivery_scope(c.delivery_id) for c in f.copies]
    scopes += [delivery_scope(d.delivery_id) for d in plan.unassigned]
    return [scope for scope in scopes if keys.destroy(scope)]


def daily_purge(app: Resources) -> PurgeRun:
    """The scheduled job: destroy whatever became due today."""
    return run_purge(app, actor=SCHEDULER_ACTOR)
