"""The one family of user-facing errors.

A `CredxError` carries a message that a vendor, district clerk, auditor or
operator can act on.  The CLI and the web app print it as it is; any other
exception is a bug and surfaces as one.
"""


class CredxError(Exception):
    """An error the user can fix; `str()` is the message to show."""


class NotFound(CredxError):
    """The named record does not exist (or is outside the caller's scope)."""


class InvalidInput(CredxError):
    """Input was refused; the message names what and how to fix it."""


class IntegrityFailure(CredxError):
    """Stored data failed an integrity check (tampered blob, broken log chain)."""
