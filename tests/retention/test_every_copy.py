"""Every copy of a file is governed: a certificate of destruction is true or is not signed.

The journey of issue 16, as a state operator runs it through the CLI: the
same vendor file arrives while no agreement is in force (quarantined), then
under a mapping that rejects it whole, then loaded.  The agreement ends and is
purged: every stored copy of those bytes goes, and `credx keys check --all`
finds nothing left to decrypt.  Copies that belong to no agreement at all
(quarantined, rejected, unassigned deliveries) fall under the vendor-level rule
(`CREDX_UNASSIGNED_RETENTION_DAYS`) and are destroyed by the daily purge.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from agreements.store import store_terms
from credx.app import App
from eventlog.log import EventLog
from exchange.models import Delivery, DeliveryStatus, RejectedRow, StoredBlob
from kernel.clock import today
from kernel.database import session_scope
from retention.destruction import run_purge
from retention.events import RetentionEvent
from tests.cli import credx
from tests.factories import blanket_terms, csv_text, exam_row, make_vendor, write_file

TODAY = today()
AGREEMENT = "nccer-all"


def apply(app: App, **changes) -> None:
    with session_scope(app.engine) as session:
        codes = ["NCCER001"]
        terms = blanket_terms("nccer", codes, effective_from=TODAY - timedelta(days=400),
                              retention_days=5, **changes)  # fmt: skip
        store_terms(session, terms, document=terms.model_dump_json(), actor="test")


def vendor_file(tmp_path: Path) -> Path:
    rows = [exam_row(n, credential_code="NCCER001", state="TN") for n in range(1, 4)]
    rows[0]["first_name"] = "José"  # not ASCII: the ascii mapping below rejects the whole file
    return write_file(tmp_path, "nccer-results.csv", csv_text(rows))


def ingest(cli_env, path: Path, *extra: str, check: int = 0) -> dict:
    ran = credx("ingest", str(path), "--vendor", "nccer", "--json", *extra, env=cli_env,
                check=check)  # fmt: skip
    return json.loads(ran.stdout)


def three_copies(app: App, cli_env, tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    credx("init", env=cli_env)
    make_vendor(app, "nccer", "NCCER", agreement=False)
    path = vendor_file(tmp_path)
    quarantined = ingest(cli_env, path, check=3)  # no agreement in force yet
    apply(app, effective_to=TODAY + timedelta(days=30))
    mapping = write_file(tmp_path, "ascii.toml", 'encoding = "ascii"\n')
    rejected = ingest(cli_env, path, "--mapping", str(mapping), check=3)
    loaded = ingest(cli_env, path)
    assert (quarantined["status"], rejected["status"], loaded["status"]) == (
        DeliveryStatus.QUARANTINED, DeliveryStatus.REJECTED, DeliveryStatus.LOADED,
    )  # fmt: skip
    apply(app, effective_to=TODAY - timedelta(days=10))  # amended: it has ended
    return path, {"quarantined": quarantined, "rejected": rejected, "loaded": loaded}


def live_copies(app: App, sha256: str) -> list[str]:
    with session_scope(app.engine) as session:
        query = select(StoredBlob.id).where(StoredBlob.sha256 == sha256)
        return [b for b in session.exec(query.where(StoredBlob.wrapped_key.is_not(None)))]  # type: ignore[union-attr]


def test_the_certificate_names_every_copy_and_none_still_decrypts(app, cli_env, tmp_path):
    path, copies = three_copies(app, cli_env, tmp_path)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(live_copies(app, sha256)) == 3

    done = json.loads(credx("agreements", "purge", "--json", env=cli_env).stdout)
    [issued] = done["certificates"]
    certificate = json.loads(Path(issued["path"]).read_text())["certificate"]
    [listed] = certificate["files"]
    assert listed["sha256"] == sha256 and listed["delivery_id"] == copies["loaded"]["delivery_id"]

    assert live_copies(app, sha256) == []
    check = json.loads(credx("keys", "check", "--all", "--json", env=cli_env).stdout)
    assert check["blobs_total"] == 0  # nothing left that decrypts (on main: the other two did)
    assert sorted(c["delivery_id"] for c in listed["copies"]) == sorted(
        copies[k]["delivery_id"] for k in ("quarantined", "rejected")
    )
    assert certificate["readable_copies_remaining"] == 0
    with session_scope(app.engine) as session:  # the quarantine and rejection reasons quote it
        assert session.exec(select(RejectedRow)).all() == []

    verified = credx("agreements", "verify-certificate", issued["path"], "--against-store",
                     "--json", env=cli_env)  # fmt: skip
    assert json.loads(verified.stdout)["readable_copies"] == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # restores a SQLite file
def test_restored_backups_stay_unreadable_unless_old_keys_come_back(
    app, cli_env, tmp_path, settings
):
    _path, copies = three_copies(app, cli_env, tmp_path)
    database = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(database) as live, sqlite3.connect(tmp_path / "credx.db.bak") as copy:
        live.backup(copy)  # the WAL included, as a backup tool takes it
    shutil.copytree(app.store.root, tmp_path / "blobs.bak")
    shutil.copytree(app.keyring.directory, tmp_path / "keys.bak")
    [issued] = json.loads(credx("agreements", "purge", "--json", env=cli_env).stdout)[
        "certificates"
    ]
    with sqlite3.connect(tmp_path / "credx.db.bak") as old, sqlite3.connect(database) as live:
        old.backup(live)  # the database and blob store restored from before the purge
    shutil.rmtree(app.store.root)
    shutil.copytree(tmp_path / "blobs.bak", app.store.root)
    verify = ("agreements", "verify-certificate", issued["path"], "--against-store")

    held = json.loads(credx(*verify, "--json", env=cli_env).stdout)
    assert held["readable_copies"] == [] and held["rows_remaining"] == 0
    assert held["rows_unreadable"] == 3  # the rows are back, sealed under a destroyed key
    check = json.loads(credx("keys", "check", "--all", "--json", env=cli_env, check=4).stdout)
    assert len(check["failures"]) == 3 and all("destroyed" in f["error"] for f in check["failures"])

    shutil.rmtree(app.keyring.directory)  # ...and an old keys backup too: now it is untrue
    shutil.copytree(tmp_path / "keys.bak", app.keyring.directory)
    refuted = json.loads(credx(*verify, "--json", env=cli_env, check=5).stdout)
    assert refuted["valid"] is True  # genuinely signed, but no longer true of this store
    assert sorted(c["delivery_id"] for c in refuted["readable_copies"]) == sorted(
        c["delivery_id"] for c in copies.values()
    )
    assert refuted["rows_remaining"] == 3 and refuted["field_keys_remaining"]
    text = credx(*verify, env=cli_env, check=5)
    assert f"delivery {copies['quarantined']['delivery_id']}" in text.stdout + text.stderr


def test_purge_refuses_to_sign_while_a_copy_it_cannot_destroy_remains(app, cli_env, tmp_path):
    path, _copies = three_copies(app, cli_env, tmp_path)
    with session_scope(app.engine) as session:  # the same bytes held by no delivery at all
        stray = app.vault(session).put([path.read_bytes()]).id
    refused = credx("agreements", "purge", env=cli_env, check=1)
    assert f"blob {stray}" in refused.stderr and "not signed" in refused.stderr
    assert len(live_copies(app, hashlib.sha256(path.read_bytes()).hexdigest())) == 4  # rolled back
    assert not app.settings.reports_dir.exists() or not list(app.settings.reports_dir.iterdir())


def test_copies_under_no_agreement_expire_under_the_vendor_rule(app, cli_env, tmp_path):
    credx("init", env=cli_env)
    make_vendor(app, "nccer", "NCCER", agreement=False)
    quarantined = ingest(cli_env, vendor_file(tmp_path), check=3)
    apply(app, effective_to=TODAY + timedelta(days=300))
    bad = write_file(
        tmp_path,
        "bad.csv",
        csv_text([exam_row(1, birth_date="02/30/2008", credential_code="NCCER001")]),
    )
    all_rejected = ingest(cli_env, bad, check=3)  # every row rejected: raw values, no agreement
    assert all_rejected["status"] == DeliveryStatus.REJECTED
    expired = {quarantined["delivery_id"], all_rejected["delivery_id"]}

    early = run_purge(app, actor="test", today=TODAY + timedelta(days=30))
    assert early.plan.unassigned == () and early.certificates == ()
    plan = run_purge(app, actor="test", today=TODAY + timedelta(days=31), dry_run=True).plan
    assert {d.delivery_id for d in plan.unassigned} == expired

    run_purge(app, actor="test", today=TODAY + timedelta(days=31))
    with session_scope(app.engine) as session:
        for delivery_id in expired:
            delivery = session.get(Delivery, delivery_id)
            assert session.get(StoredBlob, delivery.blob_id).wrapped_key is None
            rows = select(RejectedRow).where(RejectedRow.delivery_id == delivery_id)
            assert session.exec(rows).all() == []
        [event] = EventLog(session).for_subject("vendor:nccer")[-1:]
    assert event.action == RetentionEvent.UNASSIGNED_DESTROYED
    assert sorted(json.loads(event.payload)["deliveries"]) == sorted(expired)
    assert "José" not in event.payload
