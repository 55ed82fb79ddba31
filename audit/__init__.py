"""Audit trail and (later) sampling: the hash-chained event log lives here."""
