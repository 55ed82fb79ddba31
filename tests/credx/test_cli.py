"""The `credx` command as operators run it: real exit codes, real JSON, real files.

The commands run in-process (`tests.cli.credx`, through the console script's own `main`);
the tests marked `slow` run the installed console script as a real process.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from credx.demo.data import ExamResultFaker
from schemas.exam_results import CANONICAL_COLUMNS
from tests.cli import credx
from tests.factories import csv_text, exam_row, exam_rows, write_file

CONSOLE_SCRIPT = Path(sys.executable).with_name("credx")


def agreement_document(tmp_path: Path, vendor: str, states: str = "[LA, TN, FL]") -> Path:
    columns = ", ".join(CANONICAL_COLUMNS)
    text = f"""\
id: {vendor}-test
title: {vendor} results
vendor: {vendor}
states: {states}
effective_from: 2020-01-01
effective_to: 2099-12-31
credentials: [{", ".join(ExamResultFaker(1).codes)}]
data_elements: [{columns}]
purpose: testing
ferpa_basis: audit_evaluation
retention_days_after_termination: 30
"""
    return write_file(tmp_path, f"{vendor}.yaml", text)


def register(vendor: str, env: dict[str, str], tmp_path: Path) -> None:
    credx("vendors", "add", vendor, "--name", vendor.title(), env=env)
    credx("agreements", "apply", str(agreement_document(tmp_path, vendor)), env=env)


def test_init_on_a_fresh_home_creates_a_private_key_and_is_safe_to_repeat(tmp_path):
    env = {"CREDX_HOME": str(tmp_path / "fresh")}
    first = json.loads(credx("init", "--json", env=env).stdout)
    assert first["key_created"] and first["schema_revision_before"] is None
    assert first["credentials_added"] > 30
    key_file = Path(first["keys_dir"]) / f"{first['master_key_id']}.key"
    key_bytes = key_file.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = json.loads(credx("init", "--json", env=env).stdout)
    assert not again["key_created"] and again["master_key_id"] == first["master_key_id"]
    assert key_file.read_bytes() == key_bytes and again["credentials_added"] == 0


@pytest.mark.slow
def test_the_console_script_exits_1_with_the_message_and_keeps_its_files_private(tmp_path):
    """The installed `credx` in a real process: exit codes, stderr and main's umask."""
    env = {**os.environ, "CREDX_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([CONSOLE_SCRIPT, *args], env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip

    refused = run("vendors", "list")
    assert refused.returncode == 1 and "is not initialised" in refused.stderr
    made = run("init", "--json")
    assert made.returncode == 0, made.stderr
    database = Path(json.loads(made.stdout)["database"].removeprefix("sqlite:///"))
    assert stat.S_IMODE(database.stat().st_mode) == 0o600  # created under main's umask 077
    assert run("no-such-command").returncode == 2


def test_commands_refuse_an_uninitialised_home(tmp_path):
    result = credx("vendors", "list", env={"CREDX_HOME": str(tmp_path / "nothing")}, check=1)
    assert "credx init" in result.stderr


def test_ingest_json_reports_the_documented_fields(cli_env, tmp_path):
    credx("init", env=cli_env)
    register("certiport", cli_env, tmp_path)
    rows = [*exam_rows(4), exam_row(5, credential_code="ZZZZZ999")]
    path = write_file(tmp_path, "nightly.csv", csv_text(rows))
    ingest = ("ingest", str(path), "--vendor", "certiport", "--json")
    result = json.loads(credx(*ingest, env=cli_env).stdout)
    fields = {"delivery_id", "sha256", "status", "rows_total", "rows_loaded", "rows_rejected"}
    assert fields <= set(result)
    counts = (result["status"], result["rows_loaded"], result["rows_rejected"])
    assert counts == ("partially_loaded", 4, 1)
    delivery = str(result["delivery_id"])
    report = credx("rejections", delivery, "--format", "csv", env=cli_env).stdout
    lines = report.strip().splitlines()
    assert lines[0] == "delivery_id,row_number,column,value,reason,sheet_row,vendor_record_id"
    assert lines[1].startswith(f"{delivery},5,credential_code,ZZZZZ999,unknown credential code")
    again = json.loads(credx(*ingest, env=cli_env).stdout)
    assert again["status"] == "duplicate" and again["duplicate_of"] == result["delivery_id"]


def test_ingest_refuses_an_unknown_vendor_and_exits_3_on_a_rejected_file(cli_env, tmp_path):
    credx("init", env=cli_env)
    path = write_file(tmp_path, "x.csv", csv_text(exam_rows(2)))
    unknown = credx("ingest", str(path), "--vendor", "nobody", env=cli_env, check=1)
    assert "unknown vendor 'nobody'" in unknown.stderr and "credx vendors add" in unknown.stderr
    register("nccer", cli_env, tmp_path)
    empty = write_file(tmp_path, "empty.csv", b"")
    rejected = credx("ingest", str(empty), "--vendor", "nccer", "--json", env=cli_env, check=3)
    assert json.loads(rejected.stdout)["status"] == "rejected"
    credx("vendors", "add", "pearson", "--name", "Pearson VUE", env=cli_env)  # no agreement
    held = credx("ingest", str(path), "--vendor", "pearson", "--json", env=cli_env, check=3)
    assert json.loads(held.stdout)["status"] == "quarantined"


def test_credentials_load_adds_and_updates_codes(cli_env, tmp_path):
    credx("init", env=cli_env)
    path = write_file(
        tmp_path, "codes.csv",
        "code,agency,name\nTXCOD001,Texas Board,Some Credential\nADESK001,Autodesk,Renamed\n",
    )  # fmt: skip
    result = json.loads(credx("credentials", "load", str(path), "--json", env=cli_env).stdout)
    assert (result["added"], result["updated"]) == (1, 1)
    bad = write_file(tmp_path, "bad.csv", "code,agency,name\nbad,Agency,Name\n")
    refused = credx("credentials", "load", str(bad), env=cli_env, check=1)
    assert "line 2" in refused.stderr and "ADESK002" in refused.stderr


def test_keys_rotate_and_log_verify_detects_tampering(cli_env, app, tmp_path):
    credx("init", env=cli_env)
    register("nccer", cli_env, tmp_path)
    path = write_file(tmp_path, "r.csv", csv_text(exam_rows(3)))
    credx("ingest", str(path), "--vendor", "nccer", env=cli_env)
    rotated = json.loads(credx("keys", "rotate", "--json", env=cli_env).stdout)
    # the delivered file's data key hangs off its delivery's field key (issue 16), which
    # is re-wrapped with the agreement's (the rows' tokens); no blind index was needed
    assert (rotated["data_keys_rewrapped"], rotated["field_keys_rewrapped"]) == (0, 2)
    assert json.loads(credx("log", "verify", "--json", env=cli_env).stdout)["ok"] is True
    from sqlalchemy import text

    from tests.eventlog.guard import disable_guard

    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("UPDATE events SET actor = 'cli:mallory' WHERE seq = 2"))
    broken = credx("log", "verify", "--json", env=cli_env, check=4)
    assert json.loads(broken.stdout)["first_bad_seq"] == 2


def test_keys_check_is_the_restore_drill(cli_env, app, settings, tmp_path):
    credx("init", env=cli_env)
    register("nccer", cli_env, tmp_path)
    path = write_file(tmp_path, "r.csv", csv_text(exam_rows(3)))
    credx("ingest", str(path), "--vendor", "nccer", env=cli_env)
    good = json.loads(credx("keys", "check", "--all", "--json", env=cli_env).stdout)
    [key], [fields] = good.pop("keys"), good.pop("field_keys")
    assert good == {"blobs_total": 1, "blobs_checked": 1, "failures": []}
    assert (key["provider"], key["data_keys"]) == ("field-key", 1)
    # the delivery's and the agreement's key (the rows' tokens)
    assert (fields["provider"], fields["field_keys"], fields["active"]) == ("local", 2, True)
    # A keys backup older than the last rotation, restored with a newer database:
    keys_backup = {p.name for p in settings.resolved_keys_dir.iterdir()}
    credx("keys", "rotate", env=cli_env)
    for key_file in settings.resolved_keys_dir.iterdir():
        if key_file.name not in keys_backup:
            key_file.unlink()
    stale = credx("keys", "check", "--json", env=cli_env, check=4)
    failures = json.loads(stale.stdout)["failures"]
    assert len(failures) == 1 and "is missing from" in failures[0]["error"]
    from sqlmodel import Session, select

    from eventlog.models import Event

    with Session(app.engine) as session:
        checks = session.exec(select(Event).where(Event.action == "keys:blobs:checked")).all()
    assert len(checks) == 2 and failures[0]["blob_id"] in checks[-1].payload
