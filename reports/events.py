"""The event tags `reports` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class ReportEvent(EventTag):
    """Tags of reports: priority lists and attainment reports."""

    PRIORITIES_APPLIED = "report:priorities:applied"
    REPORT_GENERATED = "report:attainment:generated"
