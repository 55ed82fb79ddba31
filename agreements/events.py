"""The event tags `agreements` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class AgreementEvent(EventTag):
    """Tags of the agreements domain: vendors, agreement documents and terms, disclosures."""

    VENDOR_CREATED = "vendor:record:created"
    AGREEMENT_APPLIED = "agreement:document:applied"
    ADOPTION_RERESOLVED = "agreement:adoption:reresolved"  # a template amendment reached it
    AGREEMENT_EXPIRING = "agreement:term:expiring"
    DISCLOSURE_RECORDED = "disclosure:records:released"
