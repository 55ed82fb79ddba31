"""Connectors and the pull ledger: each remote file taken in exactly once, clean-up after commit."""

import pytest

from exchange.deliveries import ingest_file
from exchange.ingest import Ingestor
from exchange.models import Delivery
from exchange.pulls import apply_connector, pull
from exchange.sources import LocalDropFolder
from kernel.database import session_scope
from kernel.errors import CredxError, InvalidInput
from tests.exchange.local_pulls import connector_text, counts, local_connector
from tests.factories import csv_text, exam_rows, make_vendor, write_file


def test_apply_is_idempotent_and_refuses_bad_documents(app, tmp_path):
    vendor = make_vendor(app)
    assert local_connector(app, tmp_path, vendor) == "nccer-drop"
    text = connector_text(vendor, tmp_path / "drop")
    with session_scope(app.engine) as session:
        assert apply_connector(session, text, "drop.yaml", "test").changed is False
        with pytest.raises(InvalidInput, match="sftp"):
            apply_connector(session, "name: x-sftp\nvendor: nccer\nkind: sftp\n", "x.yaml", "t")
        bad_key = (
            "name: x-sftp\nvendor: nccer\nkind: sftp\nsftp:\n  host: h\n  username: u\n"
            "  key_file: /k\n  host_key: 'MD5:aa:bb'\n"
        )
        with pytest.raises(InvalidInput, match="host_key"):
            apply_connector(session, bad_key, "x.yaml", "t")
        with pytest.raises(CredxError, match="unknown vendor"):
            apply_connector(session, text.replace("vendor: nccer", "vendor: nobody"), "y", "t")


def test_a_pull_takes_each_file_once_and_cleans_up_after_commit(app, tmp_path):
    vendor = make_vendor(app)
    name = local_connector(app, tmp_path, vendor)
    write_file(tmp_path / "drop", "a.csv", csv_text(exam_rows(3)))
    preview = pull(app, name, actor="test", dry_run=True)
    assert [i.status for i in preview.items] == ["would_pull"] and counts(app) == (0, 0, 0)
    report = pull(app, name, actor="test")
    assert [i.status for i in report.items] == ["pulled"] and counts(app) == (1, 3, 1)
    assert not (tmp_path / "drop" / "a.csv").exists()


class CrashingAfterCommit(LocalDropFolder):
    """Dies where a worker could: after the delivery committed, before the clean-up."""

    crashes = 1

    def committed(self, item):
        if CrashingAfterCommit.crashes:
            CrashingAfterCommit.crashes -= 1
            raise KeyboardInterrupt("killed")
        super().committed(item)


def test_a_crash_before_the_post_action_is_finished_on_the_next_run(app, tmp_path, monkeypatch):
    vendor = make_vendor(app)
    name = local_connector(app, tmp_path, vendor)
    write_file(tmp_path / "drop", "a.csv", csv_text(exam_rows(4)))
    CrashingAfterCommit.crashes = 1
    monkeypatch.setattr("exchange.pulls.LocalDropFolder", CrashingAfterCommit)
    with pytest.raises(KeyboardInterrupt):
        pull(app, name, actor="test")
    assert counts(app) == (1, 4, 1) and (tmp_path / "drop" / "a.csv").exists()
    report = pull(app, name, actor="test")
    assert [i.status for i in report.items] == ["already_pulled"]
    assert counts(app) == (1, 4, 1) and not (tmp_path / "drop" / "a.csv").exists()


def test_a_lost_ledger_row_costs_a_download_not_a_second_load(app, tmp_path):
    vendor = make_vendor(app)
    name = local_connector(app, tmp_path, vendor)
    path = write_file(tmp_path / "drop", "a.csv", csv_text(exam_rows(5)))
    ingest_file(app, path, vendor, actor="test")  # committed, but the ledger never heard of it
    [item] = pull(app, name, actor="test").items
    assert item.outcome["status"] == "duplicate"
    assert counts(app) == (2, 5, 1)


def test_a_crash_after_receipt_is_settled_when_the_file_comes_again(app, tmp_path):
    vendor = make_vendor(app)
    name = local_connector(app, tmp_path, vendor)
    path = write_file(tmp_path / "drop", "a.csv", csv_text(exam_rows(2)))
    with session_scope(app.engine) as session:  # received and committed, never processed
        stale = (
            Ingestor(session, app.vault(session), actor="t")
            .receive(path, vendor, source="test", original_name="a.csv")
            .id
        )
    [item] = pull(app, name, actor="test").items
    assert item.outcome["status"] == "loaded" and counts(app) == (2, 2, 1)
    with session_scope(app.engine) as session:
        earlier = session.get(Delivery, stale)
        assert (earlier.status, earlier.duplicate_of) == ("duplicate", item.delivery_id)


def test_a_nightly_file_that_did_not_come_is_flagged_once(app, tmp_path):
    from datetime import UTC, datetime

    from eventlog.log import EventLog
    from exchange.models import Connector
    from exchange.pulls import missing_today, record_missing_files

    vendor = make_vendor(app)
    drop = tmp_path / "drop"
    drop.mkdir()
    text = connector_text(vendor, drop) + 'expect_by: "06:00"\ntimezone: America/Chicago\n'
    with session_scope(app.engine) as session:
        apply_connector(session, text, "drop.yaml", "test")
    early = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # 05:00 in Chicago
    late = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # 07:00 in Chicago
    with session_scope(app.engine) as session:
        connector = session.get(Connector, "nccer-drop")
        assert not missing_today(session, connector, early)
        assert missing_today(session, connector, late)
        assert record_missing_files(session, late, "test") == ["nccer-drop"]
        assert record_missing_files(session, late, "test") == []
        assert len(EventLog(session).for_subject("connector:nccer-drop")) == 2  # applied, missing


def test_a_crash_after_the_rows_are_written_but_before_the_commit_keeps_no_rows(
    app, tmp_path, monkeypatch
):
    """On SQLite a savepoint outside a real transaction commits on release; the engine must
    begin real transactions, or a killed ingest leaves rows under an unfinished delivery."""
    vendor = make_vendor(app)
    path = write_file(tmp_path, "a.csv", csv_text(exam_rows(3)))

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt("killed after the rows were written")

    monkeypatch.setattr(Ingestor, "_record_outcome", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(app, path, vendor, actor="test")
    assert counts(app)[:2] == (1, 0)  # the delivery was received; no row survived
