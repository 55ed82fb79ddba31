"""The running application's resources: settings, engine, blob store, key ring.

Built once per CLI command, web process or worker; services get what they need
from it explicitly.  `open_app` refuses to run against a database that has not
been initialised or is behind the code's migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from credx.database import create_db_engine
from credx.errors import CredxError
from credx.migrations import current_revision, head_revision
from credx.settings import Settings
from exchange.crypto import KeyRing
from exchange.storage import BlobStore, open_blob_store
from exchange.vault import Vault


@dataclass
class App:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return create_db_engine(self.settings.resolved_database_url)

    @cached_property
    def store(self) -> BlobStore:
        settings = self.settings
        return open_blob_store(
            settings.resolved_blob_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
            s3_profile=settings.s3_profile,
        )

    @cached_property
    def keyring(self) -> KeyRing:
        return KeyRing(self.settings.resolved_keys_dir)

    def vault(self, session: Session) -> Vault:
        return Vault(session, self.store, self.keyring)

    def check_ready(self) -> None:
        url = make_url(self.settings.resolved_database_url)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            current = None  # connecting would create an empty file; say what to do instead
        else:
            try:
                current = current_revision(self.engine)
            except OperationalError as exc:
                raise CredxError(
                    f"cannot reach the database {url.render_as_string(hide_password=True)}: "
                    f"{exc.orig}"
                ) from None
        if current is None:
            raise CredxError(
                f"credx is not initialised at {self.settings.home}: run `credx init` "
                "(or set CREDX_HOME / CREDX_DATABASE_URL to an initialised installation)"
            )
        if current != head_revision():
            raise CredxError(
                f"the database schema is at revision {current}, this credx needs "
                f"{head_revision()}: run `credx init` to upgrade"
            )


def open_app(settings: Settings) -> App:
    app = App(settings)
    app.check_ready()
    return app
