"""Tags of retention: destruction of an agreement's data when its term ends."""

from eventlog.tags import EventTag


class RetentionEvent(EventTag):
    AGREEMENT_PURGED = "agreement:data:destroyed"
