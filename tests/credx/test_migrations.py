"""Migrations: one head, upgrade and downgrade on both backends, models match the DDL."""

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from credx.migrations import alembic_config, current_revision, head_revision, import_models
from kernel.database import create_db_engine

# what a refused row raises: SQLAlchemy's error, or the driver's own from a bulk load
REFUSED = (IntegrityError, sqlite3.IntegrityError, psycopg.errors.IntegrityError)
# SQLite's words, or revision 0026's (which only its triggers say)
MISSING_PARENT = {"sqlite": "FOREIGN KEY", "postgresql": "exam_results names .* does not exist"}
PARENT_NAMED = {"sqlite": "FOREIGN KEY", "postgresql": "is still named by exam_results"}
FOREIGN_KEYS = ("fk_exam_results_agreement_id_agreements", "fk_exam_results_delivery_id_deliveries")


def test_there_is_exactly_one_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_the_models_match_the_migrated_schema(app):
    metadata = import_models().metadata
    with app.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    if app.engine.dialect.name == "postgresql":
        # revision 0026: exam_results' two foreign keys are statement-level triggers there
        # (test_exam_results_parents_are_enforced_as_foreign_keys_are)
        replaced = sorted(d[1].name for d in diff if d[0] == "add_fk")
        assert replaced == sorted(FOREIGN_KEYS)
        diff = [d for d in diff if d[0] != "add_fk"]
    assert diff == []
    assert current_revision(app.engine) == head_revision()


def test_exam_results_parents_are_enforced_as_foreign_keys_are(app, tmp_path):
    """On PostgreSQL by revision 0026's triggers, on SQLite by its foreign keys: a row naming
    a delivery or agreement that does not exist is refused, in a bulk COPY too, and a
    delivery or agreement that rows name cannot be deleted or renumbered."""
    from agreements.vendors import add_vendor
    from exchange.bulk import insert_columns
    from exchange.ingest import Ingestor
    from exchange.models import ExamResult
    from kernel.database import session_scope
    from kernel.rows import key_of, table_of

    results, dialect = table_of(ExamResult), app.engine.dialect.name
    (tmp_path / "f.csv").write_text("vendor_record_id\nR1\n")
    with session_scope(app.engine) as session:
        add_vendor(session, vendor_id="vendor", name="V")
        received = Ingestor(session, app.vault(session), actor="t").receive(
            tmp_path / "f.csv", "vendor", source="cli", original_name="f.csv"
        )
        delivery = key_of(received)
    row = {"delivery_id": delivery, "row_number": 1, "vendor_record_id": "R1", "state": "LA",
           "district_code": "001", "credential_code": "ADESK002", "exam_code": "E",
           "exam_date": "2025-01-02", "result": "pass"}  # fmt: skip

    def insert(**changes) -> None:
        with app.engine.begin() as connection:
            insert_columns(connection, results, {k: [v] for k, v in {**row, **changes}.items()})

    with pytest.raises(REFUSED, match=MISSING_PARENT[dialect]):
        insert(delivery_id=delivery + 1000)
    with pytest.raises(REFUSED, match=MISSING_PARENT[dialect]):
        insert(agreement_id="no-such-agreement")
    insert()
    with pytest.raises(REFUSED, match=PARENT_NAMED[dialect]), app.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM deliveries WHERE id = :id"), {"id": delivery})
    with pytest.raises(REFUSED, match=MISSING_PARENT[dialect]), app.engine.begin() as connection:
        connection.execute(sa.update(results).values(delivery_id=delivery + 1000))
    with app.engine.connect() as connection:
        kept = connection.execute(sa.select(results.c.delivery_id)).scalars().all()
        assert kept == [delivery]
        assert connection.execute(sa.text("SELECT count(*) FROM deliveries")).scalar() == 1


def test_downgrade_to_base_and_upgrade_again(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_db_engine(database_url)
    assert "events" not in inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert {"events", "deliveries", "exam_results"} <= set(inspect(engine).get_table_names())
    engine.dispose()
