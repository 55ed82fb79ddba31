"""The ingest pipeline: a vendor file becomes a delivery, loaded rows and rejected rows.

Two steps with a commit between them, so a crash never loses a file:
`receive` stores the original encrypted and records the delivery; `process`
parses, validates (Pandera, lazily: every error at once) and loads it in one
transaction.  Every row ends either in `exam_results` or, with its reasons,
in `rejected_rows`: nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Connection
from sqlmodel import Session, col, select

from agreements.mapping import ColumnMapping, parse_mapping
from agreements.models import DeliveryAgreement
from agreements.store import agreements_in_force
from agreements.terms import Terms
from agreements.vendors import get_vendor
from eventlog.log import EventLog
from exchange.bulk import as_blobs, insert_columns, wal_synced_ahead
from exchange.checking import (
    DUPLICATE_ID,
    CheckedBatch,
    CheckRules,
    can_fork,
    check_batches,
    checked_in_child,
    listed,
    storable,
    without_unchanged,
)
from exchange.corrections import (
    NOT_CURRENT,
    Settled,
    has_history,
    retract,
    settle_corrections,
)
from exchange.current_rows import CurrentRows
from exchange.events import ExchangeEvent
from exchange.models import (
    Delivery,
    DeliveryStatus,
    ExamResult,
    RejectedRow,
    StoredBlob,
    delivery_scope,
)
from exchange.readers import (
    RETRACTION,
    FileRejected,
    NeedsExactReader,
    VendorFile,
    open_vendor_file,
)
from exchange.vault import Vault
from kernel import sealing
from kernel.clock import as_utc
from kernel.clock import today as utc_today
from kernel.rows import key_of, table_of
from schemas.credentials import known_codes
from schemas.exam_results import MISSING_VALUE, exam_result_schema

ACCEPTED = (DeliveryStatus.LOADED, DeliveryStatus.PARTIALLY_LOADED)
SEALED = frozenset(ExamResult.__sealed__)  # in the row token, not written as columns


@dataclass(frozen=True)
class IngestOutcome:
    delivery_id: int
    sha256: str
    status: str
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    error: str | None = None
    duplicate_of: int | None = None
    columns_ignored: list[str] = field(default_factory=list)
    columns_dropped: list[str] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)
    rows_superseded: int = 0  # loaded rows that replaced a current row of the same vendor_record_id
    rows_unchanged: int = 0  # valid rows identical to a current row: not stored again
    rows_retracted: int = 0  # current rows a retraction file withdrew

    def as_json(self) -> dict:
        return asdict(self)


def outcome_of(delivery: Delivery) -> IngestOutcome:
    summary = json.loads(delivery.summary or "{}")
    return IngestOutcome(
        delivery_id=key_of(delivery),
        sha256=delivery.sha256,
        status=delivery.status,
        rows_total=delivery.rows_total,
        rows_loaded=delivery.rows_loaded,
        rows_rejected=delivery.rows_rejected,
        error=delivery.error,
        duplicate_of=delivery.duplicate_of,
        columns_ignored=summary.get("columns_ignored", []),
        columns_dropped=summary.get("columns_dropped", []),
        agreements=summary.get("agreements", []),
        rows_superseded=summary.get("rows_superseded", 0),
        rows_unchanged=summary.get("rows_unchanged", 0),
        rows_retracted=summary.get("rows_retracted", 0),
    )


@dataclass
class Tally:
    total: int = 0
    loaded: int = 0
    rejected: int = 0
    agreements: set[str] = field(default_factory=set)
    columns_dropped: set[str] = field(default_factory=set)
    settled: Settled = field(default_factory=Settled)
    unchanged: int = 0  # valid rows left out before writing: a current row holds them as they are


class Ingestor:
    def __init__(
        self, session: Session, vault: Vault, *, actor: str, batch_rows: int = 50_000,
        today: date | None = None, progress: Callable[[int], None] | None = None,
        parallel_min_bytes: int = 64 << 20,
    ):  # fmt: skip
        self.session = session
        self.vault = vault
        self.events = EventLog(session)
        self.actor = actor
        self.batch_rows = batch_rows
        self.today = today or utc_today()
        self.progress = progress or (lambda _rows: None)
        self.agreements: list[Terms] = []
        self.parallel_min_bytes = parallel_min_bytes

    def receive(self, path: Path, vendor_id: str, *, source: str, original_name: str) -> Delivery:
        """Store the original encrypted and record the delivery (status `received`)."""
        vendor = get_vendor(self.session, vendor_id)
        blob = self.vault.put_file(path)
        delivery = Delivery(
            vendor_id=vendor.id, source=source, original_name=original_name[:500],
            size=blob.size, sha256=blob.sha256, blob_id=blob.id,
        )  # fmt: skip
        self.session.add(delivery)
        self.session.flush()
        # the original's key hangs off the delivery's field key: a purge destroying the
        # file destroys that key, and the file stays unreadable in any database backup
        self.vault.bind_to_scope(blob.id, delivery_scope(key_of(delivery)))
        self.events.record(
            ExchangeEvent.DELIVERY_RECEIVED, f"delivery:{delivery.id}", self.actor,
            vendor=vendor.id, source=source, sha256=blob.sha256, size=blob.size,
        )  # fmt: skip
        return delivery

    def process(
        self, delivery: Delivery, path: Path, mapping: ColumnMapping | None = None
    ) -> IngestOutcome:
        """Validate and load a received delivery under the agreements in force; the caller commits.

        `mapping` overrides the column mapping the vendor's agreement carries.
        """
        prior = self._accepted_copy(delivery)
        if prior is not None:
            return self._mark_duplicate(delivery, prior)
        day = as_utc(delivery.received_at).date()
        self.agreements = agreements_in_force(self.session, delivery.vendor_id, day)
        if not self.agreements:
            return self._quarantine(delivery, day)
        mapping = mapping or _agreed_mapping(self.agreements)
        try:
            vendor_file = open_vendor_file(path, mapping)
            if vendor_file.kind == RETRACTION:
                tally = self._retract(delivery, vendor_file)
            else:
                tally = self._load_with_fallback(delivery, vendor_file)
        except FileRejected as exc:
            return self._reject_file(delivery, str(exc))
        delivery.rows_total, delivery.rows_loaded, delivery.rows_rejected = (
            tally.total, tally.loaded, tally.rejected
        )  # fmt: skip
        delivery.status = _status_of(tally)
        delivery.summary = json.dumps({
            "format": vendor_file.format,
            "encoding": mapping.encoding,
            "agreements": sorted(tally.agreements),
            "columns_ignored": vendor_file.ignored,
            "columns_absent": vendor_file.absent,
            "columns_dropped": sorted(tally.columns_dropped),
            "kind": vendor_file.kind,
            "rows_superseded": tally.settled.superseded,
            "rows_unchanged": tally.settled.unchanged,
            "rows_retracted": tally.settled.retracted,
        })  # fmt: skip
        for agreement_id in sorted(tally.agreements):
            self.session.add(
                DeliveryAgreement(delivery_id=key_of(delivery), agreement_id=agreement_id)
            )
        self._record_outcome(delivery)
        self._settle_interrupted(delivery)
        return outcome_of(delivery)

    def _settle_interrupted(self, delivery: Delivery) -> None:
        """Earlier receipts of these same bytes whose processing never finished (a crash
        after `receive`) become duplicates of this one: they loaded nothing."""
        stale = self.session.exec(
            select(Delivery)
            .where(Delivery.vendor_id == delivery.vendor_id, Delivery.sha256 == delivery.sha256)
            .where(Delivery.id != delivery.id, Delivery.status == DeliveryStatus.RECEIVED)
        ).all()
        for earlier in stale:
            self._mark_duplicate(earlier, delivery)

    def _quarantine(self, delivery: Delivery, day: date) -> IngestOutcome:
        """No agreement covers this file: keep it whole and encrypted, load nothing."""
        reason = (
            f"no data-sharing agreement with vendor {delivery.vendor_id} is in force on "
            f"{day.isoformat()}; the file is kept encrypted and nothing was loaded. Ask the state "
            "to apply an agreement covering this date"
        )
        return self._refuse_whole(delivery, DeliveryStatus.QUARANTINED, reason)

    def quarantine(self, delivery: Delivery, reason: str) -> IngestOutcome:
        """Keep a received file whole and load nothing (e.g. it could not be decrypted)."""
        return self._refuse_whole(delivery, DeliveryStatus.QUARANTINED, storable(reason))

    # steps ----------------------------------------------------------------
    def _accepted_copy(self, delivery: Delivery) -> Delivery | None:
        """An earlier, still-held delivery of the same bytes (a purged one does not count:
        a file sent again after its agreement's data was destroyed is new data)."""
        return self.session.exec(
            select(Delivery)
            .join(StoredBlob, col(StoredBlob.id) == Delivery.blob_id)
            .where(Delivery.vendor_id == delivery.vendor_id, Delivery.sha256 == delivery.sha256)
            .where(Delivery.id != delivery.id, col(Delivery.status).in_(ACCEPTED))
            .where(col(StoredBlob.wrapped_key).is_not(None))
            .order_by(col(Delivery.id))
            .limit(1)
        ).first()

    def _mark_duplicate(self, delivery: Delivery, prior: Delivery) -> IngestOutcome:
        """Same bytes again: point at the first copy's blob, load nothing."""
        spare = self.session.get(StoredBlob, delivery.blob_id)
        delivery.blob_id = prior.blob_id
        delivery.status = DeliveryStatus.DUPLICATE
        delivery.duplicate_of = prior.id
        self.session.flush()
        if spare is not None and spare.id != prior.blob_id:
            self.vault.discard(spare)
        self.events.record(
            ExchangeEvent.DELIVERY_DUPLICATE, f"delivery:{delivery.id}", self.actor,
            duplicate_of=prior.id, sha256=delivery.sha256,
        )  # fmt: skip
        return outcome_of(delivery)

    def _reject_file(self, delivery: Delivery, reason: str) -> IngestOutcome:
        return self._refuse_whole(delivery, DeliveryStatus.REJECTED, storable(reason))

    def _refuse_whole(
        self, delivery: Delivery, status: DeliveryStatus, reason: str
    ) -> IngestOutcome:
        """Nothing of this file is loaded; the original stays, the reason is recorded."""
        delivery.status = status
        delivery.error = reason
        self.session.add(RejectedRow(delivery_id=key_of(delivery), reason=reason))
        self.session.flush()
        action = (
            ExchangeEvent.DELIVERY_QUARANTINED
            if status == DeliveryStatus.QUARANTINED
            else ExchangeEvent.DELIVERY_REJECTED
        )
        self.events.record(action, f"delivery:{delivery.id}", self.actor, reason=reason)
        return outcome_of(delivery)

    def _load_with_fallback(self, delivery: Delivery, vendor_file: VendorFile) -> Tally:
        savepoint = self.session.begin_nested()
        try:
            tally = self._load(delivery, vendor_file, exact=False)
        except NeedsExactReader:
            savepoint.rollback()
            savepoint = self.session.begin_nested()
            tally = self._load(delivery, vendor_file, exact=True)
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        settled = settle_corrections(
            self.session.connection(), delivery.vendor_id, key_of(delivery)
        )
        tally.settled = replace(settled, unchanged=settled.unchanged + tally.unchanged)
        return tally

    def _retract(self, delivery: Delivery, vendor_file: VendorFile) -> Tally:
        """A retraction file: each id withdraws a current row (`exchange.corrections`)."""
        tally, ids, rejected = Tally(), dict[str, int](), list[RejectedRow]()
        header = vendor_file.source_header.get("vendor_record_id", "vendor_record_id")

        def refuse(
            number: int, value: str | None, reason: str, column: str | None = header
        ) -> None:
            rejected.append(RejectedRow(delivery_id=key_of(delivery), row_number=number,
                                        column=column, value=value, reason=reason,
                                        vendor_record_id=value if column else None))  # fmt: skip

        for batch in vendor_file.batches(self.batch_rows, exact=True):
            tally.total += len(batch.frame) + len(batch.problems)
            for problem in batch.problems:
                refuse(problem.row_number, problem.value, problem.reason, None)
            for number, value in batch.frame["vendor_record_id"].items():
                if value is None or value in ids:
                    refuse(int(number), value, MISSING_VALUE if value is None else DUPLICATE_ID)
                else:
                    ids[value] = int(number)
        found = retract(self.session.connection(), delivery.vendor_id, key_of(delivery), list(ids))
        for value, number in ids.items():
            if value not in found:
                refuse(number, value, NOT_CURRENT)
        self.session.add_all(rejected)
        tally.rejected = len(rejected)
        tally.loaded = tally.total - tally.rejected
        tally.settled = Settled(retracted=len(found))
        return tally

    def _load(self, delivery: Delivery, vendor_file: VendorFile, *, exact: bool) -> Tally:
        """Check batch n+1 while batch n is converted and written.

        Checking (Pandera, agreements) is Python and Arrow work; the insert is
        mostly the database's own.  A large file is checked in a forked child
        process (`exchange.checking`), a small one in this thread; either way
        a writer thread inserts (the columns made here), using the connection only while
        the next batch is being checked.  The checker also seals the rows
        (`checking.ready_to_write`); a re-send's rows are then compared here with the
        vendor's current rows, which the writer thread reads meanwhile.
        """
        keys = sealing.keys_of(self.session.get_bind())
        connection = self.session.connection()
        rules = CheckRules(
            schema=exam_result_schema(known_codes(self.session), self.today),
            agreements=self.agreements, vendor=delivery.vendor_id,
            day=as_utc(delivery.received_at).date(), headers=vendor_file.source_header,
            delivery_id=key_of(delivery), keys=keys,
        )  # fmt: skip
        resend = has_history(connection, delivery.vendor_id, key_of(delivery))
        forked = can_fork() and vendor_file.path.stat().st_size >= self.parallel_min_bytes
        tally = Tally()
        with (
            wal_synced_ahead(connection),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="credx-writer") as writer,
        ):
            # the vendor's current rows are read on the writer's thread while the file is
            # being read, checked and sealed; a re-send's rows are compared in this process
            current = (
                writer.submit(CurrentRows.of_vendor, connection, delivery.vendor_id,
                              key_of(delivery)) if resend else None
            )  # fmt: skip
            if forked:
                checked = checked_in_child(vendor_file, rules, self.batch_rows, exact)
            else:
                checked = check_batches(vendor_file.batches(self.batch_rows, exact=exact), rules)
            writing: Future | None = None
            for batch in checked if current is None else compared(checked, current):
                if writing is not None:
                    writing.result()
                # the columns are made here, not on the writer's thread, which the load waits on
                columns = _result_columns(key_of(delivery), batch.rows, batch.tokens)
                writing = writer.submit(_write, connection, keys, key_of(delivery), columns,
                                        batch.rejections)  # fmt: skip
                tally.total += batch.total
                tally.loaded += batch.rows.num_rows + batch.unchanged
                tally.unchanged += batch.unchanged
                tally.rejected += batch.rejected
                tally.columns_dropped |= batch.dropped
                tally.agreements.update(batch.agreements)
                self.progress(tally.total)
            if writing is not None:
                writing.result()
        return tally

    def _record_outcome(self, delivery: Delivery) -> None:
        self.session.flush()
        subject = f"delivery:{delivery.id}"
        if delivery.rows_rejected:
            self.events.record(
                ExchangeEvent.ROWS_REJECTED,
                subject,
                self.actor,
                rows_rejected=delivery.rows_rejected,
            )
        action = (
            ExchangeEvent.DELIVERY_REJECTED
            if delivery.status == DeliveryStatus.REJECTED
            else (ExchangeEvent.DELIVERY_LOADED)
        )
        self.events.record(
            action, subject, self.actor, status=delivery.status, rows_total=delivery.rows_total,
            rows_loaded=delivery.rows_loaded, rows_rejected=delivery.rows_rejected,
            **{k: v for k, v in json.loads(delivery.summary).items() if k.startswith("rows_")},
        )  # fmt: skip


def compared(
    batches: Iterator[CheckedBatch], current: Future[CurrentRows | None]
) -> Iterator[CheckedBatch]:
    """A re-send's batches without their unchanged rows (`without_unchanged`), once the
    vendor's current rows are read: batches that arrive before are held back rather than
    waited for, so the checker goes on reading while the current rows are read."""
    waiting: list[CheckedBatch] = []
    for batch in batches:
        waiting.append(batch)
        if current.done():
            yield from _without_unchanged(waiting, current.result())
            waiting = []
    yield from _without_unchanged(waiting, current.result())


def _without_unchanged(
    batches: list[CheckedBatch], held: CurrentRows | None
) -> Iterator[CheckedBatch]:
    for batch in batches:
        yield batch if held is None else without_unchanged(batch, held)


def _result_columns(
    delivery_id: int, rows: pa.Table, tokens: list[bytes] | None
) -> dict[str, list]:
    """The columns inserted: the plain ones, and the row tokens in place of the student
    values (whose own columns stay NULL)."""
    tokens = tokens or []
    if len(tokens) != rows.num_rows:
        raise RuntimeError("exam results reached the writer unsealed")  # `sealed` seals them
    data: dict[str, list] = {"delivery_id": [delivery_id] * rows.num_rows}
    data.update(listed(rows, (name for name in rows.column_names if name not in SEALED)))
    data["sealed_row"] = as_blobs(tokens)
    return data


def _write(
    connection: Connection, keys: sealing.FieldKeys, delivery_id: int,
    results: dict[str, list], rejections: dict[str, list],
) -> None:  # fmt: skip
    """The writer thread's share: seal the rejected values, insert everything."""
    insert_columns(connection, table_of(ExamResult), results)
    if rejections.get("value"):
        seal = sealing.sealer(keys, delivery_scope(delivery_id), "value")
        rejections = {**rejections, "value": [seal(v) for v in rejections["value"]]}
    insert_columns(connection, table_of(RejectedRow), rejections)


def _agreed_mapping(agreements: list[Terms]) -> ColumnMapping:
    """The column mapping the vendor's agreements carry (templates share one), else none."""
    for terms in agreements:
        if terms.mapping:
            return parse_mapping(terms.mapping, f"agreement {terms.id} mapping")
    return ColumnMapping()


def _status_of(tally: Tally) -> DeliveryStatus:
    if tally.rejected == 0:
        return DeliveryStatus.LOADED
    if tally.loaded == 0:
        return DeliveryStatus.REJECTED
    return DeliveryStatus.PARTIALLY_LOADED
