"""Pulling a connector's files: list, fetch, ingest, record, then the post-action.

Exactly once: a remote file (name, size, version) is taken in only if the
pull ledger does not have it; the vendor's copy is moved or deleted only
after the delivery and its ledger row are committed.  A crash anywhere costs
at most a re-download, which the content hash turns into a `duplicate`.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError
from sqlmodel import Session, col, select

from agreements.vendors import get_vendor
from eventlog.log import EventLog
from exchange import acknowledgements
from exchange.connectors import ConnectorConfig
from exchange.deliveries import ingest_file, quarantine_file
from exchange.events import ExchangeEvent
from exchange.ingest import IngestOutcome
from exchange.models import Connector, PulledFile
from exchange.pgp import PgpFailure, decrypt, is_encrypted_name, plaintext_name
from exchange.resources import Resources
from exchange.sources import FileSource, LocalDropFolder, RemoteFile
from kernel.clock import utcnow
from kernel.database import session_scope
from kernel.errors import InvalidInput, NotFound
from kernel.rows import existing, key_of
from kernel.settings import Settings


@dataclass(frozen=True)
class Applied:
    name: str
    version: int
    changed: bool


def parse_connector(text: str, source: str) -> ConnectorConfig:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{source}: a connector document is a mapping of fields")
    try:
        config = ConnectorConfig.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"{source}: {problems}") from None
    if getattr(config, config.kind) is None:
        raise InvalidInput(
            f"{source}: kind is {config.kind}, so a `{config.kind}:` section is needed"
        )
    others = [k for k in ("sftp", "s3", "local") if k != config.kind and getattr(config, k)]
    if others:
        raise InvalidInput(
            f"{source}: kind is {config.kind}; remove the {', '.join(others)} section"
        )
    return config


def apply_connector(session: Session, text: str, source: str, actor: str) -> Applied:
    """Store a connector document; the same document again changes nothing."""
    config = parse_connector(text, source)
    get_vendor(session, config.vendor)
    digest = hashlib.sha256(text.encode()).hexdigest()
    connector = session.get(Connector, config.name)
    if connector is not None and connector.document_sha256 == digest:
        return Applied(config.name, connector.version, changed=False)
    if connector is None:
        connector = Connector(name=config.name, vendor_id=config.vendor, kind=config.kind,
                              config="{}", document_sha256=digest, version=0)  # fmt: skip
        session.add(connector)
    connector.vendor_id, connector.kind = config.vendor, config.kind
    connector.config = config.model_dump_json()
    connector.document_sha256, connector.version = digest, connector.version + 1
    connector.updated_at = utcnow()
    session.flush()
    EventLog(session).record(
        ExchangeEvent.CONNECTOR_APPLIED, f"connector:{config.name}", actor,
        version=connector.version, sha256=digest,
    )  # fmt: skip
    return Applied(config.name, connector.version, changed=True)


def load_config(session: Session, name: str) -> ConnectorConfig:
    connector = session.get(Connector, name)
    if connector is None:
        raise NotFound(f"no connector {name!r}", hint="see `credx connectors list`")
    return ConnectorConfig.model_validate_json(connector.config)


def list_connectors(session: Session) -> list[Connector]:
    return list(session.exec(select(Connector).order_by(col(Connector.name))))


def missing_today(session: Session, connector: Connector, now: datetime) -> bool:
    """True when the connector expects a file by `expect_by` (its local time) today and
    none has been pulled since the start of its local day."""
    config = ConnectorConfig.model_validate_json(connector.config)
    if config.expect_by is None:
        return False
    local = now.astimezone(ZoneInfo(config.timezone))
    hour, minute = (int(part) for part in config.expect_by.split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return False
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    pulled = session.exec(
        select(PulledFile.id)
        .where(PulledFile.connector == connector.name, PulledFile.pulled_at >= day_start)
        .limit(1)
    ).first()
    return pulled is None


def record_missing_files(session: Session, now: datetime, actor: str) -> list[str]:
    """Alert (once per connector and local day) for nightly files that did not come."""
    alerted = []
    log = EventLog(session)
    for connector in list_connectors(session):
        if not missing_today(session, connector, now):
            continue
        config = ConnectorConfig.model_validate_json(connector.config)
        day = now.astimezone(ZoneInfo(config.timezone)).date().isoformat()
        subject = f"connector:{connector.name}"
        if any(
            e.action == ExchangeEvent.FILE_MISSING and json.loads(e.payload).get("day") == day
            for e in log.for_subject(subject)
        ):
            continue
        log.record(ExchangeEvent.FILE_MISSING, subject, actor, day=day, expect_by=config.expect_by)
        alerted.append(connector.name)
    return alerted


def open_source(config: ConnectorConfig, settings: Settings) -> FileSource:
    """The `FileSource` for a connector; vendor SDKs load only when used."""
    label = f"{config.kind}:{config.name}"
    # parse_connector refused a config without the section its kind needs
    if config.kind == "local":
        assert config.local is not None
        return LocalDropFolder(config.local.directory, config.local.settle_seconds)
    if config.kind == "sftp":
        from exchange.sftp import SftpSource

        assert config.sftp is not None
        return SftpSource(config.sftp, label=label)
    from exchange.s3 import S3Source

    assert config.s3 is not None
    return S3Source(config.s3, label=label)


@dataclass
class PulledItem:
    name: str
    size: int
    status: str  # would_pull | pulled | already_pulled
    delivery_id: int | None = None
    outcome: dict | None = None


@dataclass
class PullReport:
    connector: str
    items: list[PulledItem] = field(default_factory=list)


def pull(
    app: Resources, name: str, *, actor: str, dry_run: bool = False,
    on_file: Callable[[PulledItem], None] | None = None,
    on_listed: Callable[[list[RemoteFile]], None] | None = None,
) -> PullReport:  # fmt: skip
    """Pull every ready file of a connector once (or, with `dry_run`, say what would come).

    `on_listed` hears which files are ready before any is fetched, `on_file`
    each result: enough for a progress display."""
    with session_scope(app.engine) as session:
        config = load_config(session, name)
    report = PullReport(name)
    source = open_source(config, app.settings)
    with source, tempfile.TemporaryDirectory(prefix="credx-pull-", dir=app.settings.home) as tmp:
        ready = source.ready_files()
        if on_listed:
            on_listed(ready)
        for item in ready:
            entry = _pull_one(app, config, source, item, Path(tmp), actor, dry_run)
            report.items.append(entry)
            if on_file:
                on_file(entry)
    if not dry_run:
        with session_scope(app.engine) as session:
            existing(session, Connector, name).last_pull_at = utcnow()
    return report


def _pull_one(
    app: Resources, config: ConnectorConfig, source: FileSource, item: RemoteFile, tmp: Path,
    actor: str, dry_run: bool,
) -> PulledItem:  # fmt: skip
    with session_scope(app.engine) as session:
        known = _ledger_entry(session, config.name, item)
    if known is not None:
        if known.post_action_done_at is None and not dry_run:  # committed; not cleaned up
            _post_action(app, source, item, key_of(known))
        return PulledItem(item.name, item.size, "already_pulled", known.delivery_id)
    if dry_run:
        return PulledItem(item.name, item.size, "would_pull")
    fetched = source.fetch(item, tmp)
    try:
        outcome, keep_vendor_copy = _ingest_fetched(app, config, fetched, item.name, tmp, actor)
        ack = acknowledgements.after_ingest(app, config.acknowledgements, item.name,
                                            outcome.delivery_id, fetched)  # fmt: skip
    finally:
        if fetched.parent == tmp:  # a downloaded plaintext copy: gone as soon as it is stored
            fetched.unlink(missing_ok=True)
    with session_scope(app.engine) as session:
        entry = PulledFile(connector=config.name, name=item.name, size=item.size,
                           version=item.version, delivery_id=outcome.delivery_id)  # fmt: skip
        if keep_vendor_copy:  # settled without a post-action: the vendor's file stays put
            entry.post_action_done_at = utcnow()
        session.add(entry)
        session.flush()
        entry_id = key_of(entry)
    if not keep_vendor_copy:
        _post_action(app, source, item, entry_id)
    acknowledgements.after_commit(source, config.acknowledgements, ack)
    return PulledItem(item.name, item.size, "pulled", outcome.delivery_id, outcome.as_json())


def _ingest_fetched(
    app: Resources, config: ConnectorConfig, fetched: Path, name: str, tmp: Path, actor: str
) -> tuple[IngestOutcome, bool]:
    """Ingest a fetched file, decrypting an OpenPGP one first.  True with the outcome when
    it could not be decrypted: it is then stored as it arrived, quarantined, and the
    vendor's copy is left alone for investigation."""
    source = f"{config.kind}:{config.name}"
    if not is_encrypted_name(name) or (config.pgp_key is None and name.lower().endswith(".asc")):
        return ingest_file(app, fetched, config.vendor, actor=actor, source=source,
                           original_name=name), False  # fmt: skip
    try:
        if config.pgp_key is None:
            raise PgpFailure(
                f"{name} is OpenPGP-encrypted but connector {config.name} names no pgp_key; "
                "add the state's key to the connector and have the vendor send it again"
            )
        plain = decrypt(fetched, tmp, config.pgp_key, app.settings.resolved_gnupg_home)
    except PgpFailure as exc:
        outcome = quarantine_file(app, fetched, config.vendor, actor=actor, source=source,
                                  original_name=name, reason=str(exc))  # fmt: skip
        return outcome, True
    try:  # the delivery is the plaintext (sha256 and duplicates as for any file)
        return ingest_file(app, plain, config.vendor, actor=actor, source=source,
                           original_name=plaintext_name(name)), False  # fmt: skip
    finally:
        plain.unlink(missing_ok=True)


def _ledger_entry(session: Session, connector: str, item: RemoteFile) -> PulledFile | None:
    return session.exec(
        select(PulledFile).where(
            PulledFile.connector == connector,
            PulledFile.name == item.name,
            PulledFile.size == item.size,
            PulledFile.version == item.version,
        )
    ).first()


def _post_action(app: Resources, source: FileSource, item: RemoteFile, entry_id: int) -> None:
    source.committed(item)
    with session_scope(app.engine) as session:
        existing(session, PulledFile, entry_id).post_action_done_at = utcnow()
