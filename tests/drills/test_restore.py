"""The backup and restore drill (issue 16; docs/runbooks/backup-restore.md), on PostgreSQL.

An operator backs up the database with `pg_dump` and copies the blob store,
an agreement is purged, and the backup is restored into a fresh database
beside the live keys directory: the purged agreement's rows and files no
longer open (their field keys were destroyed), every other row and file
does, and `credx log verify` holds on the restored event log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from agreements.store import store_terms
from credx.app import App
from exchange.models import ExamResult
from kernel import sealing
from kernel.clock import today
from kernel.database import session_scope
from tests.cli import credx
from tests.drills.tenants import on_postgresql
from tests.factories import blanket_terms, csv_text, exam_row, make_vendor, write_file

TODAY = today()
SEALED = ExamResult.__sealed__  # the order of a row token's values


def agreement(app: App, state: str, ends: date) -> None:
    terms = blanket_terms(
        "nccer", ["NCCER001"], id=f"{state.lower()}-nccer", states=(state,), retention_days=5,
        effective_from=TODAY - timedelta(days=400), effective_to=ends,
    )  # fmt: skip
    with session_scope(app.engine) as session:
        store_terms(session, terms, document=terms.model_dump_json(), actor="test")


def ingest(env: dict, tmp_path: Path, state: str, seed: int) -> dict:
    rows = [exam_row(n, seed=seed, state=state, credential_code="NCCER001") for n in range(1, 5)]
    path = write_file(tmp_path, f"{state}.csv", csv_text(rows))
    return json.loads(credx("ingest", str(path), "--vendor", "nccer", "--json", env=env).stdout)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def opened(url: str) -> dict[str, list[object]]:
    """Per agreement, how each of its rows' tokens reads, as a backup holds them: the row's
    student values, or "destroyed"."""
    engine = sa.create_engine(url)
    found: dict[str, list[object]] = {}
    with engine.connect() as connection:
        query = "SELECT agreement_id, vendor_record_id, sealed_row FROM exam_results"
        for agreement_id, record, token in connection.execute(sa.text(query)):
            try:
                row: object = sealing.open_row(token, "exam_results", record)
            except sealing.KeyDestroyed:
                row = "destroyed"
            found.setdefault(agreement_id, []).append(row)
    engine.dispose()
    return found


@pytest.mark.slow
@on_postgresql
def test_a_restored_backup_opens_everything_but_the_purged_agreement(
    app, cli_env, settings, postgres_databases, tmp_path
):
    credx("init", env=cli_env)
    make_vendor(app, "nccer", "NCCER", agreement=False)
    agreement(app, "TN", TODAY + timedelta(days=30))
    agreement(app, "LA", TODAY + timedelta(days=300))
    tn, la = ingest(cli_env, tmp_path, "TN", 1), ingest(cli_env, tmp_path, "LA", 2)
    assert (tn["rows_loaded"], la["rows_loaded"]) == (4, 4)

    dump = tmp_path / "credx.dump"  # the backup: pg_dump, and a copy of the blob store
    subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), libpq(settings.database_url)],
                   check=True)  # fmt: skip
    shutil.copytree(app.store.root, tmp_path / "blobs-backup")

    agreement(app, "TN", TODAY - timedelta(days=10))  # amended: ended, retention over
    [cert] = json.loads(credx("agreements", "purge", "--json", env=cli_env).stdout)["certificates"]
    assert (cert["agreement_id"], cert["rows_destroyed"]) == ("tn-nccer", 4)

    restored = postgres_databases.create()  # a fresh database, emptied, then the backup restored
    url = postgres_databases.url_for(restored)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    subprocess.run(["pg_restore", "--no-owner", "-d", libpq(url), str(dump)], check=True)
    env = {**cli_env, "CREDX_DATABASE_URL": url,
           "CREDX_BLOB_URL": str(tmp_path / "blobs-backup")}  # fmt: skip

    rows = opened(url)
    assert rows["tn-nccer"] == ["destroyed"] * 4
    assert "destroyed" not in rows["la-nccer"] and len(rows["la-nccer"]) == 4
    sent = [exam_row(n, seed=2, state="LA", credential_code="NCCER001") for n in range(1, 5)]
    last_names = {values[SEALED.index("last_name")] for values in rows["la-nccer"]}
    assert {r["last_name"] for r in sent} == last_names
    check = json.loads(credx("keys", "check", "--all", "--json", env=env, check=4).stdout)
    assert check["blobs_total"] == 2 and check["blobs_checked"] == 2
    [failure] = check["failures"]  # Tennessee's file; Louisiana's decrypts and matches
    assert "destroyed" in failure["error"]
    verified = json.loads(credx("log", "verify", "--json", env=env).stdout)
    assert verified["ok"] and verified["entries"] > 0
    postgres_databases.drop(restored)
