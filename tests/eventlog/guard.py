"""Switching off the events table's append-only guard, as a database owner could.

Tests that prove tampering is caught need the tampering to happen first.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def disable_guard(connection: Connection) -> None:
    """What an attacker with database-owner rights would do first."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
    else:
        connection.execute(text("DROP TRIGGER events_no_update"))
        connection.execute(text("DROP TRIGGER events_no_delete"))
