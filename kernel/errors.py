"""The one family of user-facing errors, and the one shape they take.

A `CredxError` carries a message that a vendor, district clerk, auditor or
operator can act on, in domain words.  Each class says, as class attributes,
how it leaves the process: `code` (a stable machine-readable name), and
`http_status`; an instance may name the `field` at fault.  A `hint` is for
the command line only (what to run next, e.g. "see `credx deliveries list`");
the CLI prints it and the HTTP API never sends it, so service messages name
no commands.  Any other exception is a bug and surfaces as one.

`Refusal` is the one error whose event must outlive the failed request: the
service records the refusal in the event log and raises; the boundary (web
request, CLI command, job) rolls back the work, commits the refusal's event
alone and re-raises (`kernel.database.unit_of_work`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar


class CredxError(Exception):
    """An error the user can fix; `str()` is the message to show."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(message)
        if field is not None:
            self.field = field
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self)


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

    code = "unavailable"
    http_status = 503


class Refusal(CredxError):
    """A refused request whose refusal is itself recorded (an event that must be kept).

    `record` writes the refusal's event on a fresh unit of work: the boundary
    calls it after rolling back everything else the request did.
    """

    code = "refused"
    http_status = 422

    def __init__(
        self, message: str, *, record: Callable[..., object] | None = None,
        field: str | None = None, hint: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message, field=field, hint=hint)
        self.record = record
