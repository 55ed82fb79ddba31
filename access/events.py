"""The event tags `access` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class AccessEvent(EventTag):
    """Tags of access: API tokens and sign-ins."""

    TOKEN_CREATED = "access:token:created"  # noqa: S105 (an event tag, not a secret)
    TOKEN_REVOKED = "access:token:revoked"  # noqa: S105 (an event tag, not a secret)
    SIGN_IN_SUCCEEDED = "access:sign_in:succeeded"
    SIGN_IN_FAILED = "access:sign_in:failed"
