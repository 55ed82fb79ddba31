"""Tags of rosters and the school directory."""

from eventlog.tags import EventTag


class RosterEvent(EventTag):
    ROSTER_IMPORTED = "roster:file:imported"
    ROSTER_FAILED = "roster:file:failed"
    ROSTER_REJECTIONS_EXPORTED = "roster:rejections:exported"
    SCHOOLS_LOADED = "roster:schools:loaded"
