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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, text, update
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from agreements.models import Agreement, DeliveryAgreement
from agreements.store import get_agreement, terms_of
from eventlog.log import EventLog
from exchange.models import (
    Delivery,
    DeliveryStatus,
    ExamResult,
    RejectedRow,
    StoredBlob,
    delivery_scope,
)
from exchange.resources import Resources
from exchange.vault import Vault
from kernel import sealing
from kernel.clock import as_utc, utcnow
from kernel.clock import today as utc_today
from kernel.database import unit_of_work
from kernel.errors import InvalidInput, Refusal
from kernel.rows import key_of, rowcount
from kernel.signing import ensure_signing_key, key_id, public_bytes
from linkage.retention import count_linked, forget_exam_rows
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

PURGE_LOCK_ID = 0x637265647802  # PostgreSQL advisory lock: one purge at a time
SCHEDULER_ACTOR = "scheduler:retention"


# the plan ---------------------------------------------------------------------------------
# Deliveries no agreement holds: what the vendor-level rule destroys once they are old enough.
UNASSIGNED = (DeliveryStatus.QUARANTINED, DeliveryStatus.REJECTED, DeliveryStatus.RECEIVED)


@dataclass(frozen=True)
class CopyPlan:
    """Another delivery of the same bytes (quarantined, rejected whole, a duplicate) that no
    live agreement covers: destroyed with the file."""

    delivery_id: int
    blob_id: str
    status: str
    rejected_rows: int = 0


@dataclass(frozen=True)
class DeliveryPlan:
    """One file that carried rows of the agreement, and what becomes of it."""

    delivery_id: int
    original_name: str
    sha256: str
    size: int
    blob_id: str
    rows: int  # this agreement's rows in the file, all deleted
    destroy_file: bool  # original crypto-shredded and its rejected rows deleted
    rejected_rows: int  # deleted with the file (0 when the file is retained)
    kept_because: str | None = None
    linked_records: int = 0  # record-linkage links of the rows, deleted with them
    copies: tuple[CopyPlan, ...] = ()
    vendor: str = ""

    @property
    def blob_ids(self) -> set[str]:
        return {self.blob_id} | {c.blob_id for c in self.copies}


@dataclass(frozen=True)
class AgreementPlan:
    agreement_id: str
    version: int
    vendor: str
    states: tuple[str, ...]
    retention_ended: date  # last day of retention; the purge is due the day after
    deliveries: tuple[DeliveryPlan, ...]

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.deliveries)


@dataclass(frozen=True)
class PurgePlan:
    today: date
    agreements: tuple[AgreementPlan, ...]
    already_purged: tuple[tuple[str, datetime], ...] = ()  # only for an explicitly named one
    unassigned: tuple[DeliveryPlan, ...] = ()  # expired under the vendor-level rule
    unassigned_days: int | None = None


def plan_purge(
    session: Session, today: date, agreement_id: str | None = None,
    unassigned_days: int | None = None,
) -> PurgePlan:  # fmt: skip
    """What a purge on `today` would destroy; reads only, so it doubles as the dry run.

    Without `agreement_id`: every adopted, unpurged agreement whose retention
    has ended, and (given `unassigned_days`) every delivery no agreement
    holds that was received more than that many days ago.  With it: that
    agreement alone, refused (`InvalidInput`) if its retention has not ended;
    an agreement already purged gives an empty plan.
    """
    if agreement_id is not None:
        agreement = get_agreement(session, agreement_id)
        if agreement.purged_at is not None:
            return PurgePlan(today, (), ((agreement.id, as_utc(agreement.purged_at)),))
        _refuse_if_not_due(agreement, today)
        due = [agreement]
        unassigned_days = None
    else:
        due = _due_agreements(session, today)
    gone = _purged_ids(session) | {a.id for a in due}
    unassigned = () if unassigned_days is None else _unassigned_due(session, today, unassigned_days)
    return PurgePlan(
        today, tuple(_plan_agreements(session, due, gone)), unassigned=unassigned,
        unassigned_days=unassigned_days,
    )  # fmt: skip


def _unassigned_due(session: Session, today: date, days: int) -> tuple[DeliveryPlan, ...]:
    """Live deliveries with no agreement link and no loaded row, received over `days` ago.

    A blob another (newer or covered) delivery also points at is left alone.
    """
    linked = select(DeliveryAgreement.delivery_id)
    loaded = select(ExamResult.delivery_id).distinct()
    candidates = session.exec(
        select(Delivery)
        .join(StoredBlob, col(StoredBlob.id) == Delivery.blob_id)
        .where(col(Delivery.status).in_(UNASSIGNED), col(StoredBlob.wrapped_key).is_not(None))
        .where(col(Delivery.id).not_in(linked), col(Delivery.id).not_in(loaded))
        .order_by(col(Delivery.id))
    ).all()
    cutoff = today - timedelta(days=days)
    due = [d for d in candidates if as_utc(d.received_at).date() < cutoff]
    due_ids = {d.id for d in due}
    sharing = session.exec(
        select(Delivery.blob_id).where(
            col(Delivery.blob_id).in_(sorted({d.blob_id for d in due})),
            col(Delivery.id).not_in(sorted(i for i in due_ids if i is not None)),
        )
    ).all()
    due = [d for d in due if d.blob_id not in set(sharing)]
    rejected = _rejected_counts(session, [key_of(d) for d in due])
    return tuple(_delivery_plan(d, 0, _Fate(True, rejected.get(key_of(d), 0))) for d in due)


def _due_agreements(session: Session, today: date) -> list[Agreement]:
    live = session.exec(
        select(Agreement)
        .where(col(Agreement.is_template).is_(False), col(Agreement.purged_at).is_(None))
        .order_by(col(Agreement.id))
    )
    return [a for a in live if today >= terms_of(a).destroy_after()]


def _refuse_if_not_due(agreement: Agreement, today: date) -> None:
    if agreement.is_template:
        raise InvalidInput(
            f"{agreement.id!r} is a template: it holds no data; purge the agreements "
            "that adopted it"
        )
    due = terms_of(agreement).destroy_after()
    if today < due:
        raise InvalidInput(
            f"agreement {agreement.id!r} is not due for destruction: it runs to "
            f"{agreement.effective_to.isoformat()} and its data are kept until "
            f"{(due - timedelta(days=1)).isoformat()}; it can be purged from {due.isoformat()} "
            f"({(due - today).days} days from now)"
        )


def _purged_ids(session: Session) -> set[str]:
    query = select(Agreement.id).where(col(Agreement.purged_at).is_not(None))
    return set(session.exec(query))


def _plan_agreements(
    session: Session, agreements: Iterable[Agreement], gone: set[str]
) -> list[AgreementPlan]:
    """Plans for `agreements`, given the ids of every agreement whose data are (being) gone."""
    plans = []
    for agreement in agreements:
        rows = _rows_by_delivery(session, agreement.id)
        linked = session.exec(
            select(DeliveryAgreement.delivery_id).where(
                DeliveryAgreement.agreement_id == agreement.id
            )
        )
        delivery_ids = sorted(set(rows) | set(linked))
        fates = _file_fates(session, delivery_ids, gone)
        terms = terms_of(agreement)
        plans.append(
            AgreementPlan(
                agreement_id=agreement.id,
                version=agreement.version,
                vendor=agreement.vendor_id,
                states=terms.states,
                retention_ended=terms.destroy_after() - timedelta(days=1),
                deliveries=tuple(
                    _delivery_plan(
                        session.get(Delivery, d),
                        rows.get(d, 0),
                        fates[d],
                        count_linked(session, d, agreement.id),
                    )
                    for d in delivery_ids
                ),
            )
        )
    return plans


def _rows_by_delivery(session: Session, agreement_id: str) -> dict[int, int]:
    # rows are counted where they are, not only via the links, so an unlinked row is never missed
    query = (
        select(ExamResult.delivery_id, func.count())
        .where(ExamResult.agreement_id == agreement_id)
        .group_by(col(ExamResult.delivery_id))
    )
    return {delivery_id: count for delivery_id, count in session.exec(query)}


@dataclass(frozen=True)
class _Fate:
    destroy: bool
    rejected_rows: int = 0
    kept_because: str | None = None
    copies: tuple[CopyPlan, ...] = ()


def _file_fates(session: Session, delivery_ids: list[int], gone: set[str]) -> dict[int, _Fate]:
    """Whether each delivery's original goes: only when every agreement covering it is gone.

    Coverage is the union of the delivery's agreement links and the
    agreements its remaining rows were loaded under (`None` for rows loaded
    before agreements existed, which no purge will ever release).  Every
    other delivery of the same bytes goes with it, or, if a live agreement
    covers one of them, keeps it.
    """
    coverage = _coverage(session, delivery_ids)
    kept = {d: _still_covered(coverage[d] - gone) for d in delivery_ids if coverage[d] - gone}
    holds, copies = _same_content(session, [d for d in delivery_ids if d not in kept], gone)
    kept |= holds
    destroyed = [d for d in delivery_ids if d not in kept]
    copy_ids = [c[0] for d in destroyed for c in copies.get(d, [])]
    rejected = _rejected_counts(session, destroyed + copy_ids)
    fates = {}
    for d in delivery_ids:
        if d in kept:
            fates[d] = _Fate(False, kept_because=kept[d])
            continue
        made = tuple(CopyPlan(c, b, s, rejected.get(c, 0)) for c, b, s in copies.get(d, []))
        fates[d] = _Fate(True, rejected.get(d, 0), copies=made)
    return fates


def _coverage(session: Session, delivery_ids: list[int]) -> dict[int, set[str | None]]:
    coverage: dict[int, set[str | None]] = defaultdict(set)
    if not delivery_ids:
        return coverage
    links = select(DeliveryAgreement.delivery_id, DeliveryAgreement.agreement_id).where(
        col(DeliveryAgreement.delivery_id).in_(delivery_ids)
    )
    rows = (
        select(ExamResult.delivery_id, ExamResult.agreement_id)
        .where(col(ExamResult.delivery_id).in_(delivery_ids))
        .distinct()
    )
    for query in (links, rows):
        for delivery_id, agreement_id in session.exec(query):
            coverage[delivery_id].add(agreement_id)
    return coverage


def _still_covered(live: set[str | None]) -> str:
    named = sorted(a for a in live if a is not None)
    parts = [f"still covered by agreement {', '.join(named)}"] if named else []
    if None in live:
        parts.append("holds rows loaded before agreements were recorded")
    return "; ".join(parts)


# A stored delivery's id, typed as never None (the model's `int | None` is for unsaved rows).
DELIVERY_ID = cast("Mapped[int]", Delivery.id)


_Copy = tuple[int, str, str]  # another delivery of the same bytes: (id, blob id, status)


def _same_content(
    session: Session, destroy: list[int], gone: set[str]
) -> tuple[dict[int, str], dict[int, list[_Copy]]]:
    """Other deliveries of the same bytes (same SHA-256, whichever blob holds them).

    Returns the deliveries a still-covered copy keeps (with why), and for the
    rest the uncovered copies that go with them.
    """
    if not destroy:
        return {}, {}
    query = select(DELIVERY_ID, Delivery.sha256).where(col(Delivery.id).in_(destroy))
    sha_of = dict(session.exec(query).all())
    others = list(
        session.exec(
            select(DELIVERY_ID, Delivery.sha256, Delivery.blob_id, Delivery.status)
            .where(col(Delivery.sha256).in_(sorted(set(sha_of.values()))))
            .where(col(Delivery.id).not_in(destroy))
            .order_by(col(Delivery.id))
        )
    )
    coverage = _coverage(session, [o[0] for o in others])
    holds: dict[int, str] = {}
    copies: dict[int, list[_Copy]] = defaultdict(list)
    for other, sha256, blob_id, status in others:
        live = coverage[other] - gone
        for delivery_id in (d for d, s in sha_of.items() if s == sha256):
            if live:
                holds.setdefault(delivery_id, f"same file as delivery {other}, "
                                 f"{_still_covered(live)}")  # fmt: skip
            else:
                copies[delivery_id].append((other, blob_id, status))
    return holds, {d: c for d, c in copies.items() if d not in holds}


def _rejected_counts(session: Session, delivery_ids: list[int]) -> dict[int, int]:
    if not delivery_ids:
        return {}
    query = (
        select(RejectedRow.delivery_id, func.count())
        .where(col(RejectedRow.delivery_id).in_(delivery_ids))
        .group_by(col(RejectedRow.delivery_id))
    )
    return dict(session.exec(query).all())


def _delivery_plan(
    delivery: Delivery | None, rows: int, fate: _Fate, linked: int = 0
) -> DeliveryPlan:
    assert delivery is not None and delivery.id is not None  # ids come from the database
    return DeliveryPlan(
        delivery_id=delivery.id,
        original_name=delivery.original_name,
        sha256=delivery.sha256,
        size=delivery.size,
        blob_id=delivery.blob_id,
        rows=rows,
        destroy_file=fate.destroy,
        rejected_rows=fate.rejected_rows,
        kept_because=fate.kept_because,
        linked_records=linked,
        copies=fate.copies,
        vendor=delivery.vendor_id,
    )


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
    work = _plan_agreements(session, agreements, _purged_ids(session))
    unassigned = (
        _unassigned_due(session, plan.today, plan.unassigned_days)
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
