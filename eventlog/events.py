"""The event tags `eventlog` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class LogEvent(EventTag):
    """Tags of the event log itself: verification, checkpoints and the signing key."""

    LOG_VERIFIED = "log:chain:verified"
    LOG_CHECKPOINTED = "log:checkpoint:signed"
    SIGNING_KEY_CREATED = "keys:signing:created"
