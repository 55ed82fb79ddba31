"""The event tags `schemas` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class CredentialEvent(EventTag):
    """Tags of the credential-code registry."""

    CREDENTIALS_LOADED = "credentials:registry:loaded"
