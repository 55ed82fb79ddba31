"""Alembic migrations for every credx table, run by `credx init` (never `create_all`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlmodel import SQLModel

HERE = Path(__file__).parent


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # credx ships its revisions
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to head; returns (revision before, revision after)."""
    before = current_revision(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, head_revision()


def import_models() -> type[SQLModel]:
    """Import every table module so `SQLModel.metadata` is complete.

    Model registration is the shell's job: the kernel knows no domain's tables.
    """
    import access.federation
    import access.models  # noqa: F401
    import agreements.models  # noqa: F401
    import audit.plans.models  # noqa: F401
    import eventlog.models  # noqa: F401
    import exchange.evidence.models
    import exchange.models  # noqa: F401
    import linkage.models  # noqa: F401
    import notifications.models  # noqa: F401
    import reports.models  # noqa: F401
    import rosters.models  # noqa: F401
    import schemas.credentials  # noqa: F401

    return SQLModel
