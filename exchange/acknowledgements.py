"""Acknowledgement files: after each pulled file, what became of it, written back to the vendor.

Managed-file-transfer products answer every file with an acknowledgement; a
connector with an `acknowledgements:` section gets one per pulled file, named
`<file><suffix>` in its `outbox` (a directory on the vendor's SFTP server, or a
key prefix in its S3 bucket):

    {"acknowledgement": 1, "file", "delivery_id", "sha256", "status",
     "rows_total", "rows_loaded", "rows_rejected",
     "rejections": [{"row_number", "vendor_record_id", "column", "reason"}]}

`status` is `loaded`, `partially_loaded`, `rejected`, `duplicate` or
`quarantined`.  Rejections name the vendor's own record id (read from the file
while it is still on hand), never the rejected value, so the vendor can find
the row without credx echoing student data back.  On SFTP the file is written
under a temporary name and renamed, so the vendor never reads half of one; an
S3 PUT is already all-or-nothing, so the object is written in one request.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from agreements.mapping import ColumnMapping
from exchange.models import Delivery, RejectedRow
from kernel.database import session_scope
from kernel.errors import CredxError

if TYPE_CHECKING:
    from exchange.resources import Resources

log = logging.getLogger("credx.exchange")
MAX_REJECTIONS = 10_000  # an acknowledgement stays a small file; the report has the rest


class AcknowledgementSettings(BaseModel):
    """A connector document's `acknowledgements:` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outbox: str = Field(min_length=1, max_length=500,
                        description="SFTP directory or S3 key prefix to write into")  # fmt: skip
    suffix: str = Field(default=".ack.json", pattern=r"^\.[A-Za-z0-9._-]{1,40}$")
    format: Literal["json"] = "json"


@dataclass(frozen=True)
class Acknowledgement:
    name: str  # the file's name in the outbox
    content: bytes


def prepare(session: Session, settings: AcknowledgementSettings, file_name: str,
            delivery_id: int, fetched: Path | None) -> Acknowledgement:  # fmt: skip
    """The acknowledgement of one pulled file (`fetched`: the plaintext, for record ids)."""
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None  # the pull has just recorded it
    rejected = list(session.exec(select(RejectedRow).where(RejectedRow.delivery_id == delivery_id)
                                 .order_by(col(RejectedRow.id)).limit(MAX_REJECTIONS)))  # fmt: skip
    wanted = {row.row_number for row in rejected if row.row_number is not None}
    ids = record_ids(fetched, wanted) if fetched is not None and wanted else {}
    body: dict[str, Any] = {
        "acknowledgement": 1, "file": file_name, "delivery_id": delivery_id,
        "sha256": delivery.sha256, "status": str(delivery.status),
        "rows_total": delivery.rows_total, "rows_loaded": delivery.rows_loaded,
        "rows_rejected": delivery.rows_rejected,
        "rejections": [{"row_number": row.row_number, "vendor_record_id": ids.get(row.row_number)
                        if row.row_number is not None else None, "column": row.column,
                        "reason": row.reason} for row in rejected],
    }  # fmt: skip
    name = Path(file_name).name + settings.suffix
    return Acknowledgement(name, json.dumps(body, indent=1).encode())


def record_ids(path: Path, wanted: set[int]) -> dict[int, str]:
    """The vendor_record_id of each wanted row number, where the file has that column."""
    from exchange.readers import open_vendor_file

    found: dict[int, str] = {}
    try:
        for batch in open_vendor_file(path, ColumnMapping()).batches(50_000, exact=True):
            frame = batch.frame
            if "vendor_record_id" not in frame.columns:
                return found
            for number in wanted.intersection(frame.index):
                value = frame.at[number, "vendor_record_id"]
                if isinstance(value, str):
                    found[int(number)] = value
    except (CredxError, ValueError, OSError):
        log.info("acknowledgement: record ids not readable from %s", path.name)
    return found


def write_sftp(sftp: Any, outbox: str, ack: Acknowledgement) -> str:
    """Write under a temporary name, then rename over any earlier one (POSIX rename)."""
    final = f"{outbox.rstrip('/')}/{ack.name}"
    temporary = f"{outbox.rstrip('/')}/.{ack.name}.part"
    sftp.putfo(io.BytesIO(ack.content), temporary, file_size=len(ack.content), confirm=True)
    sftp.posix_rename(temporary, final)
    return final


def write_s3(client: Any, bucket: str, prefix: str, ack: Acknowledgement) -> str:
    key = f"{prefix}{ack.name}"
    client.put_object(Bucket=bucket, Key=key, Body=ack.content, ContentType="application/json")
    return key


def send(source: Any, settings: AcknowledgementSettings, ack: Acknowledgement) -> str:
    """Write `ack` through an open `SftpSource` or `S3Source`; where it went."""
    if hasattr(source, "sftp"):
        return write_sftp(source.sftp, settings.outbox, ack)
    if hasattr(source, "client"):
        return write_s3(source.client, source.settings.bucket, settings.outbox, ack)
    raise CredxError("acknowledgements are written to SFTP and S3 connectors only")


# -- the pull's hook: prepared while the file is on hand, sent after the commit -------------


def after_ingest(app: Resources, settings: AcknowledgementSettings | None, file_name: str,
                 delivery_id: int | None, fetched: Path) -> Acknowledgement | None:  # fmt: skip
    if settings is None or delivery_id is None:
        return None
    with session_scope(app.engine) as session:
        return prepare(session, settings, file_name, delivery_id, fetched)


def after_commit(source: Any, settings: AcknowledgementSettings | None,
                 ack: Acknowledgement | None) -> None:  # fmt: skip
    """Write the acknowledgement; a failure is logged, never undoes the pull (the delivery
    is committed and the operator's report has the same facts)."""
    if settings is None or ack is None:
        return
    try:
        where = send(source, settings, ack)
    except Exception as exc:  # the vendor's server refused the write: say so, carry on
        log.warning("acknowledgement %s not written: %s", ack.name, type(exc).__name__)
        return
    log.info("acknowledgement written to %s", where)
