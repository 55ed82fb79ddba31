"""A local drop-folder connector for pull tests, and counts of what pulls stored."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from credx.app import App
from exchange.models import Delivery, ExamResult, PulledFile
from exchange.pulls import apply_connector
from kernel.database import session_scope


def connector_text(vendor: str, drop: Path) -> str:
    """A local connector document for `vendor` watching `drop`; tests append fields to it."""
    return (
        f"name: {vendor}-drop\nvendor: {vendor}\nkind: local\n"
        f"local:\n  directory: {drop}\n  settle_seconds: 0\n"
    )


def local_connector(app: App, tmp_path: Path, vendor: str) -> str:
    """Apply a connector watching `tmp_path/drop` (created); returns the connector's name."""
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    with session_scope(app.engine) as session:
        return apply_connector(session, connector_text(vendor, drop), "drop.yaml", "test").name


def counts(app: App) -> tuple[int, int, int]:
    """How many deliveries, exam results and pulled files are stored."""
    with session_scope(app.engine) as session:
        return (
            len(session.exec(select(Delivery)).all()),
            len(session.exec(select(ExamResult)).all()),
            len(session.exec(select(PulledFile)).all()),
        )
