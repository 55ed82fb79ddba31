"""Tags of reports: priority lists and attainment reports."""

from eventlog.tags import EventTag


class ReportEvent(EventTag):
    PRIORITIES_APPLIED = "report:priorities:applied"
    REPORT_GENERATED = "report:attainment:generated"
