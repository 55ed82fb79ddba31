"""Tags of the credential-code registry."""

from eventlog.tags import EventTag


class CredentialEvent(EventTag):
    CREDENTIALS_LOADED = "credentials:registry:loaded"
