"""Issue 18 items 3 and 4: connector documents are checked at apply with their line; one
broken connector never stops the worker; an operator can see and steer connectors, jobs
and deliveries from the CLI; a file dropped after the night's pull comes the same day."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest

from agreements.store import store_terms
from credx.jobs import JOB_HANDLERS
from eventlog.log import EventLog
from exchange.models import Connector
from exchange.pulls import apply_connector
from exchange.scheduler import enqueue_due, run_until_idle
from kernel.database import session_scope
from schemas.credentials import known_codes
from tests.cli import credx
from tests.exchange.local_pulls import connector_text, counts
from tests.factories import blanket_terms, csv_text, exam_rows, make_vendor, write_file


def apply_text(cli_env, tmp_path, text: str, check: int = 0):
    path = write_file(tmp_path, "connector.yaml", text)
    return credx("connectors", "apply", str(path), env=cli_env, check=check)


def listed(cli_env) -> dict[str, dict]:
    rows = json.loads(credx("connectors", "list", "--json", env=cli_env).stdout)
    return {r["name"]: r for r in rows}


@pytest.mark.parametrize(
    ("field", "line", "says"),
    [
        ('schedule: "61 * * * *"', 4, "is not a cron schedule"),
        ("timezone: America/Chicgo", 4, "unknown time zone 'America/Chicgo'"),
    ],
)
def test_apply_refuses_what_the_worker_could_not_run(app, cli_env, tmp_path, field, line, says):
    vendor = make_vendor(app)
    (tmp_path / "drop").mkdir()
    text = connector_text(vendor, tmp_path / "drop").replace(
        "kind: local\n", f"kind: local\n{field}\n"
    )
    ran = apply_text(cli_env, tmp_path, text, check=1)
    assert f"line {line}: " in ran.stderr and says in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout


def test_apply_refuses_a_missing_folder_or_key_file_naming_its_line(app, cli_env, tmp_path):
    vendor = make_vendor(app)
    ran = apply_text(cli_env, tmp_path, connector_text(vendor, tmp_path / "nowhere"), check=1)
    assert "line 5: local.directory: no folder at" in ran.stderr
    sftp = (
        f"name: {vendor}-sftp\nvendor: {vendor}\nkind: sftp\nsftp:\n  host: h\n  username: u\n"
        f"  key_file: {tmp_path}/no-key\n  host_key: SHA256:{'A' * 43}\n"
    )
    ran = apply_text(cli_env, tmp_path, sftp, check=1)
    assert "line 7: sftp.key_file: no readable key file at" in ran.stderr


def break_stored_document(app, name: str) -> None:
    """A document stored before apply checked time zones (as on today's installations)."""
    with session_scope(app.engine) as session:
        connector = session.get(Connector, name)
        config = json.loads(connector.config)
        config["timezone"] = "America/Chicgo"
        connector.config = json.dumps(config)


def test_one_broken_connector_does_not_stop_the_others(app, cli_env, tmp_path):
    vendor = make_vendor(app)
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir(), bad.mkdir()
    apply_text(cli_env, tmp_path, connector_text(vendor, good))
    apply_text(cli_env, tmp_path, connector_text(vendor, bad).replace("-drop", "-broken"))
    break_stored_document(app, f"{vendor}-broken")
    write_file(good, "a.csv", csv_text(exam_rows(3)))

    ran = credx("worker", "--once", "--json", env=cli_env)
    assert json.loads(ran.stdout)["jobs_run"] == 2  # the good pull and the purge
    assert counts(app)[1] == 3
    rows = listed(cli_env)
    assert rows[f"{vendor}-broken"]["state"] == "failed"
    assert "unknown time zone" in rows[f"{vendor}-broken"]["last_error"]
    assert rows[f"{vendor}-drop"]["state"] == "ok" and rows[f"{vendor}-drop"]["last_success_at"]
    assert rows[f"{vendor}-drop"]["next_run_at"]
    with session_scope(app.engine) as session:
        failed = EventLog(session).for_subject(f"connector:{vendor}-broken")
        assert [e.action for e in failed] == ["connector:document:applied", "connector:pull:failed"]


def test_operator_sees_and_steers_a_failing_connector(app, cli_env, tmp_path):
    vendor = make_vendor(app)
    drop = tmp_path / "drop"
    drop.mkdir()
    apply_text(cli_env, tmp_path, connector_text(vendor, drop))
    name = f"{vendor}-drop"
    shutil.rmtree(drop)  # the vendor's share went away: every pull fails

    credx("worker", "--once", env=cli_env)
    row = listed(cli_env)[name]
    assert row["state"] == "retrying" and "does not exist" in row["last_error"]
    assert row["retry"]["attempts"] == 1 and row["retry"]["of"] == 5
    (failed,) = json.loads(credx("jobs", "list", "--failed", "--json", env=cli_env).stdout)
    assert failed["state"] == "retrying" and failed["target"] == name

    credx("connectors", "disable", name, env=cli_env)
    assert listed(cli_env)[name]["state"] == "disabled"
    ran = credx("connectors", "run", name, env=cli_env, check=1)
    assert "is disabled" in ran.stderr
    credx("connectors", "enable", name, env=cli_env)

    drop.mkdir()  # the cause is fixed
    write_file(drop, "late.csv", csv_text(exam_rows(2)))
    credx("jobs", "retry", str(failed["id"]), env=cli_env)
    credx("worker", "--once", env=cli_env)
    assert counts(app)[1] == 2
    assert listed(cli_env)[name]["state"] == "ok"
    assert json.loads(credx("jobs", "list", "--failed", "--json", env=cli_env).stdout) == []

    credx("connectors", "remove", name, env=cli_env)
    assert name not in listed(cli_env)
    write_file(tmp_path, "again.yaml", connector_text(vendor, drop))
    credx("connectors", "apply", str(tmp_path / "again.yaml"), env=cli_env)
    credx("connectors", "run", name, env=cli_env)
    assert counts(app)[0] == 1  # the ledger was kept: nothing pulled twice


def test_a_quarantined_delivery_is_retried_once_its_agreement_exists(app, cli_env, tmp_path):
    vendor = make_vendor(app, agreement=False)
    path = write_file(tmp_path, "early.csv", csv_text(exam_rows(4)))
    ran = credx("ingest", str(path), "--vendor", vendor, "--json", env=cli_env, check=3)
    quarantined = json.loads(ran.stdout)
    assert quarantined["status"] == "quarantined"
    with session_scope(app.engine) as session:
        terms = blanket_terms(vendor, codes=sorted(known_codes(session)))
        store_terms(session, terms, document="late agreement", actor="test")

    ran = credx("deliveries", "retry", str(quarantined["delivery_id"]), "--json", env=cli_env)
    retried = json.loads(ran.stdout)
    assert (retried["status"], retried["rows_loaded"]) == ("loaded", 4)
    assert retried["delivery_id"] != quarantined["delivery_id"]
    with session_scope(app.engine) as session:
        actions = [
            e.action for e in EventLog(session).for_subject(f"delivery:{retried['delivery_id']}")
        ]
        assert actions == ["delivery:file:received", "delivery:file:loaded"]
        earlier = EventLog(session).for_subject(f"delivery:{quarantined['delivery_id']}")
        assert earlier[-1].action == "delivery:file:retried"
    again = credx("deliveries", "retry", str(retried["delivery_id"]), env=cli_env, check=1)
    assert "only a quarantined, rejected or failed delivery" in again.stderr


def test_a_file_dropped_after_the_nights_pull_comes_the_same_day(app, tmp_path):
    vendor = make_vendor(app)
    drop = tmp_path / "drop"
    drop.mkdir()
    text = connector_text(vendor, drop) + 'schedule: "0 2 * * *"\ncatch_up_minutes: 30\n'
    with session_scope(app.engine) as session:
        apply_connector(session, text, "c.yaml", "test")
    write_file(drop, "night.csv", csv_text(exam_rows(2)))
    night = enqueue_due(app, datetime(2026, 12, 3, 2, 5, tzinfo=UTC))
    assert run_until_idle(app, "w1", JOB_HANDLERS) == 2  # the pull and the purge
    write_file(drop, "late.csv", csv_text(exam_rows(3, seed=8)))  # after the night's pull
    morning = enqueue_due(app, datetime(2026, 12, 3, 9, 40, tzinfo=UTC))
    assert [k for k in night if k.startswith("pull:")] == [
        f"pull:{vendor}-drop:2026-12-03T02:00+00:00"
    ]
    assert morning == [f"pull:{vendor}-drop:2026-12-03T09:30+00:00"]
    assert run_until_idle(app, "w1", JOB_HANDLERS) == 1
    assert counts(app)[1] == 5
