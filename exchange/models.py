"""Deliveries, the rows they carried, and the encrypted blobs that hold the originals."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow
from kernel.database import StateScoped
from kernel.sealing import Sealed, SealedDate, SealedText, install_events


class DeliveryStatus(StrEnum):
    RECEIVED = "received"  # stored and recorded, not yet processed (or processing crashed)
    LOADED = "loaded"
    PARTIALLY_LOADED = "partially_loaded"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"  # no agreement in force: kept whole, nothing loaded


class StoredBlob(SQLModel, table=True):
    """An encrypted file in the blob store; its data key is wrapped by a master key.

    Destroying `wrapped_key` crypto-shreds the blob, backups included.
    """

    __tablename__ = "blobs"

    id: str = Field(primary_key=True, max_length=32)
    store_key: str = Field(max_length=200)
    sha256: str = Field(max_length=64, index=True)
    size: int = Field(sa_type=sa.BigInteger)
    master_key_id: str = Field(max_length=64, index=True)
    wrapped_key: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    shredded_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Delivery(SQLModel, table=True):
    """One file received from a vendor, whatever became of it."""

    __tablename__ = "deliveries"

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: str = Field(foreign_key="vendors.id", index=True, max_length=64)
    source: str = Field(max_length=500)
    original_name: str = Field(max_length=500)
    size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64, index=True)
    blob_id: str = Field(foreign_key="blobs.id", max_length=32)
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    status: str = Field(default=DeliveryStatus.RECEIVED, max_length=20, index=True)
    duplicate_of: int | None = Field(default=None, foreign_key="deliveries.id")
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    summary: str = Field(default="{}", sa_type=sa.Text)


class ExamResult(StateScoped, Sealed, SQLModel, table=True):
    """A student-level exam result (Ed-Fi: CertificationExamResult).

    Its key is where it came from: (delivery, row number in the file).  On
    SQLite the table is clustered on that key (WITHOUT ROWID), so a bulk load
    appends to one B-tree instead of maintaining a rowid table and an index.
    """

    __tablename__ = "exam_results"
    __table_args__ = {"sqlite_with_rowid": False}
    # student identifiers and names, sealed under the agreement's field key (kernel.sealing)
    __sealed__ = (
        "candidate_id", "state_student_id", "first_name", "middle_name", "last_name", "birth_date",
    )  # fmt: skip
    __row_column__ = "sealed_row"

    delivery_id: int = Field(foreign_key="deliveries.id", primary_key=True)
    row_number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # None only for rows loaded before agreements were enforced (schema revision 0001)
    agreement_id: str | None = Field(default=None, foreign_key="agreements.id", max_length=64)
    # indexed: a correction finds the vendor's current row by this id (`exchange.corrections`)
    vendor_record_id: str = Field(max_length=64, index=True)
    # The six student values are stored in `sealed_row`, one token a row (`__row_column__`),
    # and read back into these attributes when a row loads; their own columns are NULL,
    # except in rows written before revision 0025 that `credx init` has not yet moved.
    candidate_id: str = Field(sa_type=SealedText("candidate_id"), nullable=True)
    state_student_id: str | None = Field(default=None, sa_type=SealedText("state_student_id"))
    first_name: str = Field(sa_type=SealedText("first_name"), nullable=True)
    middle_name: str | None = Field(default=None, sa_type=SealedText("middle_name"))
    last_name: str = Field(sa_type=SealedText("last_name"), nullable=True)
    birth_date: date = Field(sa_type=SealedDate("birth_date"), nullable=True)
    state: str = Field(max_length=2)
    district_code: str = Field(max_length=16)
    school_code: str | None = Field(default=None, max_length=16)
    credential_code: str = Field(max_length=8)
    exam_code: str = Field(max_length=32)
    exam_date: date
    score: float | None = None
    passing_score: float | None = None
    result: str = Field(max_length=4)
    attempt: int | None = None
    # Corrections (`exchange.corrections`): the later delivery of the same vendor that
    # replaced or retracted this row; NULL while the row is current.  Kept as history.
    superseded_by: int | None = Field(default=None)
    # Before revision 0025: a keyed digest of the sealed values, how a re-sent row was told
    # `unchanged`.  NULL since: the row token, deterministic, tells it (`credx init` empties it
    # when it moves a row's values into its token).
    sealed_digest: str | None = Field(default=None, max_length=32)
    # The row token (`kernel.sealing.seal_rows`, revision 0025): deterministic, so it also
    # tells a re-sent row that changed nothing; `sealed_digest` stays NULL beside it.
    sealed_row: bytes | None = Field(default=None, sa_type=sa.LargeBinary)

    def sealing_scope(self) -> str:
        return exam_scope(self.agreement_id, self.state)

    def row_record(self) -> str:
        return self.vendor_record_id


def exam_scope(agreement_id: str | None, state: str) -> str:
    """The field-key scope of an exam result: its agreement, else its state's unassigned rows."""
    return f"agreement:{agreement_id}" if agreement_id else f"unassigned:{state}"


def delivery_scope(delivery_id: int) -> str:
    """The field-key scope of the raw values a delivery's rejected rows quote."""
    return f"delivery:{delivery_id}"


class RejectedRow(Sealed, SQLModel, table=True):
    """One reason one row (or the whole file, row_number NULL) was not loaded."""

    __tablename__ = "rejected_rows"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="deliveries.id", index=True)
    row_number: int | None = None
    column: str | None = Field(default=None, max_length=100)
    # the value as received (often a name or birth date): sealed under the delivery's key
    value: str | None = Field(default=None, sa_type=SealedText("value"))
    reason: str = Field(sa_type=sa.Text)
    # the row's own vendor_record_id as sent (None for a whole-file reason or an unreadable row),
    # so a vendor finds the row in their system without counting lines
    vendor_record_id: str | None = Field(default=None, max_length=200)

    __sealed__ = ("value",)

    def sealing_scope(self) -> str:
        return delivery_scope(self.delivery_id)


class Connector(SQLModel, table=True):
    """A configured source of one vendor's files (`exchange.connectors.ConnectorConfig`)."""

    __tablename__ = "connectors"

    name: str = Field(primary_key=True, max_length=64)
    vendor_id: str = Field(foreign_key="vendors.id", index=True, max_length=64)
    kind: str = Field(max_length=10)
    config: str = Field(sa_type=sa.Text)  # the validated configuration as JSON
    document_sha256: str = Field(max_length=64)
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_pull_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # operator controls and the worker's view (issue 18): a disabled connector is not pulled;
    # a removed one is hidden, its pull ledger kept so re-adding it never pulls a file twice
    enabled: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    removed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_success_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_error_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class PulledFile(SQLModel, table=True):
    """The pull ledger: each remote file (name, size, version) taken in, and its post-action.

    A file is pulled again only if it is not here; a crash between the
    delivery's commit and this row costs a re-download that the content hash
    turns into a `duplicate`, never a second load.
    """

    __tablename__ = "pulled_files"
    __table_args__ = (sa.UniqueConstraint("connector", "name", "size", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(foreign_key="connectors.name", max_length=64)
    name: str = Field(max_length=1024)
    size: int = Field(sa_type=sa.BigInteger)
    version: str = Field(max_length=200)
    delivery_id: int = Field(foreign_key="deliveries.id")
    pulled_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    post_action_done_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Job(SQLModel, table=True):
    """Work the scheduler enqueued; workers claim it through the database.

    `key` is unique (e.g. `pull:nccer-sftp:2026-11-27`), so a run can be
    enqueued any number of times and exists once.  A claim older than its
    lease (the worker died) can be claimed again: pulls are exactly-once
    through the pull ledger, so running one again is safe.
    """

    __tablename__ = "jobs"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=20)
    target: str = Field(max_length=64)
    run_after: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(
        default=None, sa_type=sa.DateTime(timezone=True), index=True
    )
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)


install_events(ExamResult)
install_events(RejectedRow)
