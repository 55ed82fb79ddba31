"""The event tags `exchange.evidence` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class EvidenceEvent(EventTag):
    """Tags of certificate evidence: uploads, refusals and every view of student evidence."""

    EVIDENCE_RECEIVED = "evidence:file:received"
    EVIDENCE_REFUSED = "evidence:file:refused"
    EVIDENCE_BULK_RECEIVED = "evidence:bulk:received"
    EVIDENCE_BULK_REFUSED = "evidence:bulk:refused"
    EVIDENCE_LISTED = "evidence:claims:listed"
    EVIDENCE_VIEWED = "evidence:claim:viewed"
    EVIDENCE_PREVIEW_VIEWED = "evidence:preview:viewed"
    EVIDENCE_ORIGINAL_DOWNLOADED = "evidence:original:downloaded"
