"""The event tags `exchange` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class ExchangeEvent(EventTag):
    """Tags of the exchange domain: deliveries, connectors, jobs, keys and blobs."""

    DELIVERY_RECEIVED = "delivery:file:received"
    DELIVERY_LOADED = "delivery:file:loaded"
    DELIVERY_REJECTED = "delivery:file:rejected"
    DELIVERY_DUPLICATE = "delivery:file:duplicate"
    DELIVERY_FAILED = "delivery:file:failed"
    ROWS_REJECTED = "delivery:rows:rejected"
    REJECTIONS_EXPORTED = "delivery:rejections:exported"
    KEY_CREATED = "keys:master:created"
    KEY_ROTATED = "keys:master:rotated"
    BLOBS_CHECKED = "keys:blobs:checked"
    DELIVERY_QUARANTINED = "delivery:file:quarantined"
    CONNECTOR_APPLIED = "connector:document:applied"
    JOB_FINISHED = "worker:job:finished"
    FILE_MISSING = "connector:file:missing"
    CONNECTOR_FAILED = "connector:pull:failed"
    CONNECTOR_REFUSED = "connector:pull:refused"  # host key, auth, signature: with the reason
    CONNECTOR_DISABLED = "connector:document:disabled"
    CONNECTOR_ENABLED = "connector:document:enabled"
    CONNECTOR_REMOVED = "connector:document:removed"
    JOB_RETRIED = "worker:job:retried"
    DELIVERY_RETRIED = "delivery:file:retried"
