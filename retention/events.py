"""The event tags `retention` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class RetentionEvent(EventTag):
    """Tags of retention: destruction of an agreement's data when its term ends."""

    AGREEMENT_PURGED = "agreement:data:destroyed"
    # a purge that found a readable copy of what it was to certify, and signed nothing
    PURGE_REFUSED = "agreement:purge:refused"
    # deliveries held by no agreement, destroyed under the vendor-level retention rule
    UNASSIGNED_DESTROYED = "vendor:deliveries:destroyed"
    # field keys of purged data destroyed (after the purge committed): their ids, no scope
    FIELD_KEYS_DESTROYED = "keys:fields:destroyed"
    # a certificate's claim re-checked against the database and blob store
    CERTIFICATE_CHECKED = "certificate:store:checked"
