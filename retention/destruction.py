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
from exchange.models import Delivery, ExamResult, RejectedRow, StoredBlob
from exchange.resources import Resources
from exchange.vault import Vault
from kernel.clock import as_utc, utcnow
from kernel.clock import today as utc_today
from kernel.database import unit_of_work
from kernel.errors import InvalidInput
from kernel.rows import rowcount
from kernel.signing import ensure_signing_key, key_id, public_bytes
from linkage.retention import count_linked, forget_exam_rows
from retention.certificates import (
    Certificate,
    DestroyedFile,
    RetainedFile,
    SignedCertificate,
    sign_certificate,
    write_certificate,
)
from retention.events import RetentionEvent

PURGE_LOCK_ID = 0x637265647802  # PostgreSQL advisory lock: one purge at a time
SCHEDULER_ACTOR = "scheduler:retention"


# the plan ---------------------------------------------------------------------------------
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


def plan_purge(session: Session, today: date, agreement_id: str | None = None) -> PurgePlan:
    """What a purge on `today` would destroy; reads only, so it doubles as the dry run.

    Without `agreement_id`: every adopted, unpurged agreement whose retention
    has ended.  With it: that agreement alone, refused (`InvalidInput`) if its
    retention has not ended; an agreement already purged gives an empty plan.
    """
    if agreement_id is not None:
        agreement = get_agreement(session, agreement_id)
        if agreement.purged_at is not None:
            return PurgePlan(today, (), ((agreement.id, as_utc(agreement.purged_at)),))
        _refuse_if_not_due(agreement, today)
        due = [agreement]
    else:
        due = _due_agreements(session, today)
    gone = _purged_ids(session) | {a.id for a in due}
    return PurgePlan(today, tuple(_plan_agreements(session, due, gone)))


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


def _file_fates(session: Session, delivery_ids: list[int], gone: set[str]) -> dict[int, _Fate]:
    """Whether each delivery's original goes: only when every agreement covering it is gone.

    Coverage is the union of the delivery's agreement links and the
    agreements its remaining rows were loaded under (`None` for rows loaded
    before agreements existed, which no purge will ever release).  A blob a
    duplicate delivery shares goes only if that delivery is uncovered too.
    """
    coverage = _coverage(session, delivery_ids)
    kept = {d: _still_covered(coverage[d] - gone) for d in delivery_ids if coverage[d] - gone}
    kept |= _shared_blob_holds(session, [d for d in delivery_ids if d not in kept], gone)
    rejected = _rejected_counts(session, [d for d in delivery_ids if d not in kept])
    return {
        d: _Fate(False, kept_because=kept[d]) if d in kept else _Fate(True, rejected.get(d, 0))
        for d in delivery_ids
    }


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


def _shared_blob_holds(session: Session, destroy: list[int], gone: set[str]) -> dict[int, str]:
    """Deliveries whose blob another, still-covered delivery (a duplicate) also points at."""
    if not destroy:
        return {}
    query = select(DELIVERY_ID, Delivery.blob_id).where(col(Delivery.id).in_(destroy))
    blob_of = dict(session.exec(query).all())
    sharers = list(
        session.exec(
            select(DELIVERY_ID, Delivery.blob_id)
            .where(col(Delivery.blob_id).in_(sorted(set(blob_of.values()))))
            .where(col(Delivery.id).not_in(destroy))
        )
    )
    coverage = _coverage(session, [d for d, _ in sharers])
    holds: dict[int, str] = {}
    for other, blob_id in sharers:
        live = coverage[other] - gone
        if live:
            for delivery_id in (d for d, b in blob_of.items() if b == blob_id):
                holds[delivery_id] = f"same file as delivery {other}, {_still_covered(live)}"
    return holds


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
    delete; an agreement someone else purged meanwhile is skipped.  Blobs
    are shredded last: `Vault.shred` deletes ciphertext at once, so the
    database work that can still fail comes first.
    """
    _serialise_purges(session)
    now = utcnow()
    claimed = [a.agreement_id for a in plan.agreements if _claim(session, a.agreement_id, now)]
    agreements = [get_agreement(session, a) for a in claimed]
    work = _plan_agreements(session, agreements, _purged_ids(session))
    rejected_deleted: dict[int, int] = {}
    signed = []
    for item in work:
        rows = sum(
            _delete_rows(session, item.agreement_id, d.delivery_id)
            for d in item.deliveries
            if d.rows
        )
        for d in item.deliveries:
            if d.destroy_file and d.delivery_id not in rejected_deleted:
                rejected_deleted[d.delivery_id] = _delete_rejected(session, d.delivery_id)
        certificate = _certificate(item, rows, rejected_deleted, now, actor, signing_key)
        signed.append(sign_certificate(certificate, signing_key))
        _record(session, item, signed[-1], actor)
    for blob_id in sorted({d.blob_id for i in work for d in i.deliveries if d.destroy_file}):
        _shred(session, vault, blob_id)
    return signed


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


def _shred(session: Session, vault: Vault, blob_id: str) -> None:
    blob = session.get(StoredBlob, blob_id)
    if blob is not None and blob.wrapped_key is not None:  # keep the first shredded_at
        vault.shred(blob_id)


def _certificate(
    item: AgreementPlan,
    rows: int,
    rejected_deleted: dict[int, int],
    now: datetime,
    actor: str,
    signing_key: Ed25519PrivateKey,
) -> Certificate:
    destroyed = [d for d in item.deliveries if d.destroy_file]
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
        rejected_rows_destroyed=sum(rejected_deleted[d.delivery_id] for d in destroyed),
        files=tuple(_destroyed(d) for d in destroyed),
        files_retained=tuple(_retained(d) for d in item.deliveries if not d.destroy_file),
        signing_key_id=key_id(public_bytes(signing_key.public_key())),
    )


def _destroyed(d: DeliveryPlan) -> DestroyedFile:
    return DestroyedFile(
        delivery_id=d.delivery_id, original_name=d.original_name, sha256=d.sha256, size=d.size,
        blob_id=d.blob_id,
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
            return PurgeRun(plan_purge(session, day, agreement_id), dry_run=True)
    signing_key = ensure_signing_key(app.keyring.directory)
    written: list[Path] = []
    try:
        with unit_of_work(app.engine) as session:
            plan = plan_purge(session, day, agreement_id)
            signed = purge(session, app.vault(session), plan, actor, signing_key=signing_key)
            for certificate in signed:
                written.append(write_certificate(certificate, app.settings.reports_dir))
    except BaseException:
        for path in written:  # the commit failed, or something before it
            path.unlink(missing_ok=True)
        raise
    return PurgeRun(plan, dry_run=False, certificates=tuple(zip(signed, written, strict=True)))


def daily_purge(app: Resources) -> PurgeRun:
    """The scheduled job: destroy whatever became due today."""
    return run_purge(app, actor=SCHEDULER_ACTOR)
