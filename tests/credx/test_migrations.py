"""Migrations: one head, upgrade and downgrade on both backends, models match the DDL."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from credx.migrations import alembic_config, current_revision, head_revision, import_models
from kernel.database import create_db_engine


def test_there_is_exactly_one_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_the_models_match_the_migrated_schema(app):
    metadata = import_models().metadata
    with app.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []
    assert current_revision(app.engine) == head_revision()


def test_downgrade_to_base_and_upgrade_again(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_db_engine(database_url)
    assert "events" not in inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert {"events", "deliveries", "exam_results"} <= set(inspect(engine).get_table_names())
    engine.dispose()
