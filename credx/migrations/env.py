"""Alembic environment: uses the connection handed over by `credx.migrations.upgrade`,
or `sqlalchemy.url` / CREDX settings when run by the `alembic` command."""

from alembic import context

from credx.migrations import import_models
from kernel.database import create_db_engine

target_metadata = import_models().metadata
config = context.config


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from kernel.settings import load_settings

    url = config.get_main_option("sqlalchemy.url") or load_settings().resolved_database_url
    with create_db_engine(url).begin() as conn:
        run(conn)
