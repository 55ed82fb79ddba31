"""The event tags `rosters` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class RosterEvent(EventTag):
    """Tags of rosters and the school directory."""

    ROSTER_IMPORTED = "roster:file:imported"
    ROSTER_FAILED = "roster:file:failed"
    ROSTER_REJECTIONS_EXPORTED = "roster:rejections:exported"
    SCHOOLS_LOADED = "roster:schools:loaded"
