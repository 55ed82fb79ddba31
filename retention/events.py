"""The event tags `retention` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class RetentionEvent(EventTag):
    """Tags of retention: destruction of an agreement's data when its term ends."""

    AGREEMENT_PURGED = "agreement:data:destroyed"
