"""Fixtures: every database test runs on real SQLite and real PostgreSQL.

PostgreSQL comes from CREDX_TEST_DATABASE_URL (default: the local server CI
provides, postgresql+psycopg://postgres@127.0.0.1:5432/test).  The schema is
migrated once into a template; each test gets a fresh copy (a file copy on
SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests can commit.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from credx.app import App
from credx.migrations import upgrade
from kernel.database import create_db_engine, session_scope
from kernel.settings import Settings
from schemas.credentials import seed_registry

PG_URL = os.environ.get(
    "CREDX_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count()


def _migrate_and_seed(url: str) -> None:
    engine = create_db_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        seed_registry(session)
    engine.dispose()


class PostgresDatabases:
    """Creates throwaway databases from one migrated template."""

    def __init__(self, admin_url: str):
        self.admin_url = make_url(admin_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.template = f"credx_tmpl_{os.getpid()}"
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}"')
        self._execute(f'CREATE DATABASE "{self.template}"')
        _migrate_and_seed(self.url_for(self.template))

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(sql))

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"credx_t_{os.getpid()}_{next(_counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(PG_URL)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate_and_seed(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """A migrated, seeded, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "credx.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    yield databases.url_for(name)
    databases.drop(name)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    return Settings(home=home, database_url=database_url, drop_settle_seconds=0)


@pytest.fixture
def app(settings) -> Iterator[App]:
    application = App(settings)
    application.keyring.ensure()
    yield application
    application.engine.dispose()


@pytest.fixture
def session(app):
    with session_scope(app.engine) as db_session:
        yield db_session


@pytest.fixture
def cli_env(settings, monkeypatch) -> dict[str, str]:
    """Environment for running `credx` against this test's installation."""
    env = {
        "CREDX_HOME": str(settings.home),
        "CREDX_DATABASE_URL": settings.database_url,
        "CREDX_DROP_SETTLE_SECONDS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
