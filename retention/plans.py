"""The purge's plan: what a purge on a given day would destroy, read only (the dry run).

Which agreements are due, which of their files go and which stay (and why),
which other deliveries of the same bytes go with a file, and which deliveries
no agreement holds have outlived the vendor-level rule.  `retention.destruction`
executes a plan; the rules are explained in its docstring.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from agreements.models import Agreement, DeliveryAgreement
from agreements.store import get_agreement, terms_of
from exchange.models import Delivery, DeliveryStatus, ExamResult, RejectedRow, StoredBlob
from kernel.clock import as_utc
from kernel.errors import InvalidInput
from kernel.rows import key_of
from linkage.retention import count_linked

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
    gone = purged_ids(session) | {a.id for a in due}
    unassigned = () if unassigned_days is None else unassigned_due(session, today, unassigned_days)
    return PurgePlan(
        today, tuple(plan_agreements(session, due, gone)), unassigned=unassigned,
        unassigned_days=unassigned_days,
    )  # fmt: skip


def unassigned_due(session: Session, today: date, days: int) -> tuple[DeliveryPlan, ...]:
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


def purged_ids(session: Session) -> set[str]:
    query = select(Agreement.id).where(col(Agreement.purged_at).is_not(None))
    return set(session.exec(query))


def plan_agreements(
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


