"""The one family of user-facing errors, and the one shape they take.

A `CredxError` carries a message that a vendor, district clerk, auditor or
operator can act on, in domain words: what is wrong and what to do.  Each
class says, as class attributes, how it leaves the process: `code` (a stable
machine-readable name), `http_status`, and where it applies the `field` at
fault (an instance may name another `field`).  A class whose instances carry
several codes (an evidence refusal: too large, unsupported type, ...) sets
`code` and `http_status` together from one table in its own module, never in
the web layer.  The web answers every one of them the same way:
`{"error": {"code", "message", "field"}}` with `http_status`.

A `hint` is for the command line only (what to run next, e.g. "see `credx
deliveries list`"): the CLI prints it after the message and the HTTP API never
sends it, so messages name no commands.  Any other exception is a bug and
surfaces as one.

Some refusals must outlive the failed request (a refused upload, a refused
audit finding: the record of an attempt).  Such an error carries `record`, a
callback that writes its event on a session: `Refusal` always does, and any
other error can take one with `keeping(record)`.  The unit of work
(`kernel.database.unit_of_work`) rolls back everything the request did, then
commits the recorded event alone and re-raises.  Services never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

# `record(session)` writes a refusal's event on a sqlmodel `Session`; typed loosely so
# that errors import no database code (pure cores raise them too).
Record = Callable[[Any], object]


class CredxError(Exception):
    """An error the user can fix; `str()` is the message to show."""

    code: str = "bad_request"
    http_status: int = 400
    field: str | None = None
    record: Record | None = None

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(message)
        if field is not None:
            self.field = field
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self)

    def keeping(self, record: Record) -> Self:
        """This error, with the event the unit of work must keep though the request fails."""
        self.record = record
        return self


class NotFound(CredxError):
    """The named record does not exist (or is outside the caller's scope)."""

    code = "not_found"
    http_status = 404


class InvalidInput(CredxError):
    """Input was refused; the message names what and how to fix it."""

    code = "invalid_input"
    http_status = 422


class Conflict(CredxError):
    """The request clashes with the current state (someone else was first, a duplicate)."""

    code = "conflict"
    http_status = 409


class IntegrityFailure(CredxError):
    """Stored data failed an integrity check (tampered blob, broken log chain)."""

    code = "integrity_failure"
    http_status = 409


class Unavailable(CredxError):
    """A service credx depends on is out of reach for now; trying later may work."""

    code = "busy"  # as the web answers a database that stays locked: try again later
    http_status = 503


class Refusal(CredxError):
    """A refused request whose refusal is itself recorded (an event that must be kept).

    `record(session)` writes the refusal's event: the unit of work calls it on a
    fresh session after rolling back everything else the request did.  A
    service that refuses part of a larger request and carries on (one line of
    a bulk upload) calls `record` on its own session instead.
    """

    code = "refused"
    http_status = 422

    def __init__(
        self, message: str, *, record: Record | None = None,
        field: str | None = None, hint: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message, field=field, hint=hint)
        if record is not None:
            self.record = record
