"""Creating and upgrading an installation: home, master key, schema, registry seed."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import select

from credx.app import App
from credx.migrations import upgrade
from credx.migrations.sealing import seal_existing
from eventlog.events import LogEvent
from eventlog.log import EventLog, cli_actor
from exchange.events import ExchangeEvent
from kernel.database import session_scope
from kernel.signing import ensure_signing_key, key_id, public_bytes, signing_key_path
from schemas.credentials import Credential, seed_registry


def initialise(app: App) -> dict:
    """Create home, keys and schema; seed the registry once.  Never overwrites a key."""
    settings = app.settings
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.reports_dir.mkdir(mode=0o700, exist_ok=True)
    master_id, key_created = app.keyring.ensure()
    signing_existed = signing_key_path(app.keyring.directory).is_file()
    signing_id = key_id(public_bytes(ensure_signing_key(app.keyring.directory).public_key()))
    before, after = upgrade(app.engine)
    sealed = seal_existing(app.engine, app.field_keys)  # resumable: 0s once all are sealed
    with session_scope(app.engine) as session:
        registry_empty = session.exec(select(func.count()).select_from(Credential)).one() == 0
        seeded = seed_registry(session) if registry_empty else None
        if key_created:
            EventLog(session).record(ExchangeEvent.KEY_CREATED, f"key:{master_id}", cli_actor())
        if not signing_existed:
            EventLog(session).record(
                LogEvent.SIGNING_KEY_CREATED, f"key:signing:{signing_id}", cli_actor()
            )
    return {
        "home": str(settings.home),
        "database": _redacted(settings.resolved_database_url),
        "blob_store": settings.resolved_blob_url,
        "keys_dir": str(settings.resolved_keys_dir),
        "master_key_id": master_id,
        "key_created": key_created,
        "signing_key_id": signing_id,
        "signing_key_created": not signing_existed,
        "schema_revision_before": before,
        "schema_revision": after,
        "credentials_added": seeded.added if seeded else 0,
        "rows_sealed": sealed,
    }


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
