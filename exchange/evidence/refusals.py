"""The one error for a refused upload: a message a district clerk can act on, and where.

`code` is a stable tag (API clients and the event log filter on it); `field`
names the form field at fault (`file` for the file itself, a claim field such
as `school_year`, or `manifest`/`archive` for a bulk upload).  The HTTP status
follows from the code, in `STATUS` below and nowhere else: too large is 413,
a file that is not what credx accepts is 415, anything else 422.  Messages
never repeat the student data that was sent: they are written to the event log.

An `EvidenceRefused` is a `Refusal`: the upload service attaches the event
that records it, and the unit of work keeps that event when it rolls the
upload back.
"""

from __future__ import annotations

from kernel.errors import Refusal

STATUS = {
    "file_too_large": 413,
    "archive_too_large": 413,
    "unsupported_type": 415,
    "extension_mismatch": 415,
    "polyglot": 415,
    "decode_memory_limit": 413,
    "pdf_too_large_inflated": 413,
    "decoders_busy": 503,
}


class EvidenceRefused(Refusal):
    """A refused upload, or one refused line of a bulk upload."""

    http_status = 422

    def __init__(self, message: str, *, code: str, field: str = "file") -> None:
        super().__init__(message, field=field)
        self.code = code
        self.http_status = STATUS.get(code, EvidenceRefused.http_status)

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": str(self), "field": self.field or "file"}
