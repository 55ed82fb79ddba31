"""Audit plans and the auditor queue: the database side of `audit.sampling`."""
