"""The composition root: builds a process's resources from its settings.

Built once per CLI command, web process or worker; services receive it as
`exchange.resources.Resources` and take what they need from it explicitly.
`open_app` refuses to run against a database that has not been initialised
or is behind the code's migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from credx.migrations import current_revision, head_revision
from exchange.crypto import KeyRing
from exchange.fieldkeys import FieldKeyStore
from exchange.keys import master_keys
from exchange.kms import KmsKeys, kms_keys
from exchange.storage import BlobStore, LocalBlobStore
from exchange.vault import Vault
from kernel import sealing
from kernel.database import create_db_engine
from kernel.errors import CredxError
from kernel.settings import Settings
from notifications.outbox import OutboxConfig
from notifications.outbox import watch as watch_outbox


@dataclass
class App:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        engine = create_db_engine(self.settings.resolved_database_url,
                                  self.settings.sqlite_busy_timeout_seconds)  # fmt: skip
        watch_outbox(engine, OutboxConfig(self.settings.public_url, self.settings.webhook_url))
        sealing.register(engine, self.field_keys)  # sealed columns open with this home's keys
        return engine

    @cached_property
    def field_keys(self) -> FieldKeyStore:
        return FieldKeyStore(
            self.settings.resolved_keys_dir / "fields", master_keys(self.keyring, self.kms)
        )

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

    def close(self) -> None:
        """Close the engine's pooled connections, if an engine was made."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    @cached_property
    def kms(self) -> KmsKeys | None:
        settings = self.settings
        return kms_keys(
            settings.kms_key_id, endpoint_url=settings.kms_endpoint_url, region=settings.kms_region
        )

    def vault(self, session: Session) -> Vault:
        return Vault(session, self.store, self.keyring, self.kms)

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
                f"credx is not initialised at {self.settings.home}",
                hint="run `credx init` (or set CREDX_HOME / CREDX_DATABASE_URL to an "
                "initialised installation)",
            )
        if current != head_revision():
            raise CredxError(
                f"the database schema is at revision {current}, this credx needs "
                f"{head_revision()}",
                hint="run `credx init` to upgrade",
            )


def open_app(settings: Settings) -> App:
    app = App(settings)
    try:
        app.check_ready()
    except BaseException:
        app.close()  # checking connected; a refused app leaves no connection open
        raise
    return app


def open_blob_store(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    s3_profile: str | None = None,
) -> BlobStore:
    """A store from `CREDX_BLOB_URL`: a path, a `file://` URL or `s3://bucket/prefix`."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return LocalBlobStore(Path(parsed.path if parsed.scheme else url))
    if parsed.scheme == "s3" and parsed.netloc:
        from exchange.s3 import S3BlobStore  # boto3 loads only when S3 is used

        return S3BlobStore.from_url(
            url, endpoint_url=s3_endpoint_url, region=s3_region, profile=s3_profile
        )
    raise CredxError(
        f"unsupported blob store URL {url!r}: use a directory path, file:///path "
        "or s3://bucket/prefix"
    )
