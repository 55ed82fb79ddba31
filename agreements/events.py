"""Tags of the agreements domain: vendors, agreement documents and terms, disclosures."""

from eventlog.tags import EventTag


class AgreementEvent(EventTag):
    VENDOR_CREATED = "vendor:record:created"
    AGREEMENT_APPLIED = "agreement:document:applied"
    AGREEMENT_EXPIRING = "agreement:term:expiring"
    DISCLOSURE_RECORDED = "disclosure:records:released"
