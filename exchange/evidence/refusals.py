"""The one error for a refused upload: a message a district clerk can act on, and where.

`code` is a stable tag (API clients and the event log filter on it); `field`
names the form field at fault (`file` for the file itself, a claim field such
as `school_year`, or `manifest`/`archive` for a bulk upload).  The web layer
answers `{"error": {"code", "message", "field"}}` from these three.  Messages
never repeat the student data that was sent: they are written to the event log.
"""

from __future__ import annotations

from kernel.errors import InvalidInput


class EvidenceRefused(InvalidInput):
    def __init__(self, message: str, *, code: str, field: str = "file") -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]  # one class, many codes
        self.field = field

    def as_json(self) -> dict[str, str | None]:
        return {"code": self.code, "message": str(self), "field": self.field}
