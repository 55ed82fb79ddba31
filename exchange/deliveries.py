"""Delivery jobs and queries: the boundary that commits, used by the CLI and connectors."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from agreements.mapping import ColumnMapping
from eventlog.log import EventLog
from exchange.events import ExchangeEvent
from exchange.ingest import Ingestor, IngestOutcome
from exchange.models import Delivery, DeliveryStatus, RejectedRow
from exchange.resources import Resources
from exchange.sources import FileSource
from kernel.clock import day_span
from kernel.database import session_scope
from kernel.errors import InvalidInput, NotFound
from kernel.rows import existing, key_of


def ingest_file(
    app: Resources, path: Path, vendor_id: str, *, actor: str, mapping: ColumnMapping | None = None,
    source: str = "cli", original_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestOutcome:  # fmt: skip
    """Receive (committed first, so the original is never lost) and then process a file."""
    batch_rows = app.settings.ingest_batch_rows
    with session_scope(app.engine) as session:
        delivery = Ingestor(session, app.vault(session), actor=actor).receive(
            path, vendor_id, source=source, original_name=original_name or path.name
        )
    try:
        with session_scope(app.engine) as session:
            ingestor = Ingestor(
                session, app.vault(session), actor=actor, batch_rows=batch_rows, progress=progress,
                parallel_min_bytes=app.settings.ingest_parallel_min_bytes,
            )  # fmt: skip
            return ingestor.process(existing(session, Delivery, delivery.id), path, mapping)
    except Exception as exc:
        _record_failure(app, key_of(delivery), actor, exc)
        raise


def quarantine_file(
    app: Resources, path: Path, vendor_id: str, *, actor: str, source: str, original_name: str,
    reason: str,
) -> IngestOutcome:  # fmt: skip
    """Store a file as it arrived and record it `quarantined` with `reason`; nothing is read."""
    with session_scope(app.engine) as session:
        ingestor = Ingestor(session, app.vault(session), actor=actor)
        delivery = ingestor.receive(path, vendor_id, source=source, original_name=original_name)
        return ingestor.quarantine(delivery, reason)


def _record_failure(app: Resources, delivery_id: int, actor: str, exc: Exception) -> None:
    """A bug or outage mid-processing: the delivery stays `received`, the log says why."""
    with session_scope(app.engine) as session:
        delivery = existing(session, Delivery, delivery_id)
        delivery.error = f"processing failed ({type(exc).__name__}); it can be processed again"
        EventLog(session).record(
            ExchangeEvent.DELIVERY_FAILED,
            f"delivery:{delivery_id}",
            actor,
            error=type(exc).__name__,
        )


def retry_delivery(app: Resources, delivery_id: int, *, actor: str) -> IngestOutcome:
    """Process a quarantined, rejected or failed delivery again from its stored original,
    once the cause is fixed (an agreement applied, a mapping corrected).  It becomes a new
    delivery, counted and logged as one; the earlier one stays as it was, pointing to it."""
    with session_scope(app.engine) as session:
        earlier = get_delivery(session, delivery_id)
        failed = earlier.status == DeliveryStatus.RECEIVED and earlier.error is not None
        if earlier.status not in RETRYABLE and not failed:
            raise InvalidInput(
                f"delivery {delivery_id} is {earlier.status}; only a quarantined, rejected or "
                "failed delivery is processed again"
            )
        vendor, name = earlier.vendor_id, earlier.original_name
        with tempfile.NamedTemporaryFile(
            prefix="credx-retry-", dir=app.settings.home, delete=False
        ) as plain:
            for chunk in app.vault(session).open(earlier.blob_id):
                plain.write(chunk)
    path = Path(plain.name)
    try:
        outcome = ingest_file(app, path, vendor, actor=actor, source=f"retry:{delivery_id}",
                              original_name=name)  # fmt: skip
    finally:
        path.unlink(missing_ok=True)
    with session_scope(app.engine) as session:
        EventLog(session).record(ExchangeEvent.DELIVERY_RETRIED, f"delivery:{delivery_id}",
                                 actor, retried_as=outcome.delivery_id)  # fmt: skip
    return outcome


RETRYABLE = (DeliveryStatus.QUARANTINED, DeliveryStatus.REJECTED)


@dataclass(frozen=True)
class DeliveryFilter:
    vendor_id: str | None = None
    status: DeliveryStatus | None = None
    limit: int = 50
    offset: int = 0  # rows to skip (the API's cursor pages)
    vendor_ids: frozenset[str] | None = None  # a state's operator: its state's vendors only
    since: date | None = None  # received on or after this day (UTC)
    until: date | None = None  # received on or before this day (UTC)


def list_deliveries(session: Session, where: DeliveryFilter) -> list[Delivery]:
    query = select(Delivery).order_by(col(Delivery.id).desc())
    query = query.offset(where.offset).limit(where.limit)
    if where.vendor_id:
        query = query.where(Delivery.vendor_id == where.vendor_id)
    if where.vendor_ids is not None:
        query = query.where(col(Delivery.vendor_id).in_(sorted(where.vendor_ids)))
    if where.status:
        query = query.where(Delivery.status == where.status)
    start, end = day_span(where.since, where.until)
    if start is not None:
        query = query.where(col(Delivery.received_at) >= start)
    if end is not None:
        query = query.where(col(Delivery.received_at) < end)
    return list(session.exec(query))


def get_delivery(session: Session, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}", hint="see `credx deliveries list`")
    return delivery


def rejections_of(session: Session, delivery_id: int) -> list[RejectedRow]:
    get_delivery(session, delivery_id)
    return list(
        session.exec(
            select(RejectedRow)
            .where(RejectedRow.delivery_id == delivery_id)
            .order_by(col(RejectedRow.row_number).nulls_first(), col(RejectedRow.id))
        )
    )


@dataclass(frozen=True)
class SweptFile:
    name: str
    outcome: IngestOutcome


def sweep(
    app: Resources,
    source: FileSource,
    vendor_id: str,
    *,
    actor: str,
    mapping: ColumnMapping | None = None,
) -> list[SweptFile]:
    """Ingest every ready file of a source; the source cleans up only after each commit."""
    swept = []
    with source, tempfile.TemporaryDirectory(prefix="credx-pull-", dir=app.settings.home) as tmp:
        for item in source.ready_files():
            fetched = source.fetch(item, Path(tmp))
            try:
                outcome = ingest_file(
                    app, fetched, vendor_id, actor=actor, mapping=mapping,
                    source=source.label, original_name=item.name,
                )  # fmt: skip
            finally:
                if fetched.parent == Path(tmp):  # a downloaded plaintext copy: gone once stored
                    fetched.unlink(missing_ok=True)
            source.committed(item)
            swept.append(SweptFile(item.name, outcome))
    return swept
