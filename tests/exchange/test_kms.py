"""AWS KMS as the key provider, against moto's server over HTTP (as S3 is).

The operator's journey: an installation that began on local key files sets
`CREDX_KMS_KEY_ID`, rotates (every data key moves into KMS), and from then
on needs no key file to read its files; `credx keys check` says which
provider holds each key.  KMS out of reach makes every file unreadable at
once: an error the operator can act on, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from sqlmodel import select

from credx.app import App
from exchange.models import ExamResult
from kernel.database import session_scope
from kernel.settings import Settings
from tests.cli import credx
from tests.factories import csv_text, exam_rows, make_vendor, write_file
from tests.s3server import REGION, S3Server, running_s3_server

# the provider is what is tested here; both databases store a wrapped key the same way
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def kms_server() -> Iterator[S3Server]:
    with running_s3_server() as server:  # moto's server answers every service, KMS included
        yield server


@pytest.fixture
def kms(kms_server):
    return boto3.session.Session(region_name=REGION).client(
        "kms", endpoint_url=kms_server.endpoint_url
    )


def checked(env) -> dict:
    return json.loads(credx("keys", "check", "--all", "--json", env=env).stdout)


def test_an_installation_moves_its_keys_into_kms_and_needs_no_key_file(
    app, cli_env, kms, kms_server, tmp_path
):
    credx("init", env=cli_env)
    make_vendor(app)
    first = write_file(tmp_path, "first.csv", csv_text(exam_rows(5)))
    credx("ingest", str(first), "--vendor", "nccer", env=cli_env)
    before = checked(cli_env)
    assert [k["provider"] for k in before["field_keys"]] == ["local"] and before["failures"] == []

    key_id = kms.create_key(Description="credx master key")["KeyMetadata"]["KeyId"]
    kms_id = f"kms:{key_id}"
    env = {**cli_env, "CREDX_KMS_KEY_ID": key_id, "CREDX_KMS_ENDPOINT_URL": kms_server.endpoint_url}
    rotated = json.loads(credx("keys", "rotate", "--json", env=env).stdout)
    assert rotated["provider"] == "aws-kms" and rotated["master_key_id"] == kms_id
    assert rotated["field_keys_rewrapped"] == before["field_keys"][0]["field_keys"] >= 2

    second = write_file(tmp_path, "second.csv", csv_text(exam_rows(4, seed=9)))
    credx("ingest", str(second), "--vendor", "nccer", env=env)
    listed = json.loads(credx("keys", "list", "--json", env=env).stdout)
    assert listed["active"] == kms_id and listed["providers"][kms_id] == "aws-kms"

    for key_file in app.keyring.directory.glob("mk-*.key"):
        key_file.unlink()  # the key files are gone: KMS alone holds what unwraps the files
    after = checked(env)
    assert after["failures"] == [] and after["blobs_checked"] == 2
    [holder] = after["field_keys"]  # files' data keys hang off field keys, all wrapped in KMS
    assert (holder["key_id"], holder["provider"], holder["active"]) == (kms_id, "aws-kms", True)
    assert holder["field_keys"] > rotated["field_keys_rewrapped"]  # the new delivery's own
    assert {k["provider"] for k in after["keys"]} == {"field-key"}
    text = credx("keys", "check", "--all", env=env).stdout
    assert f"master key {kms_id} (aws-kms): wraps {holder['field_keys']} field keys" in text
    home, database_url = app.settings.home, app.settings.database_url
    kms_settings = {"kms_key_id": key_id, "kms_endpoint_url": kms_server.endpoint_url}
    configured = App(Settings(home=home, database_url=database_url, **kms_settings))
    with session_scope(configured.engine) as session:  # exam results open, their key from KMS
        names = [r.first_name for r in session.exec(select(ExamResult))]
    configured.engine.dispose()
    assert len(names) == 9 and all(names)

    # KMS out of reach (a closed port): every file unreadable, said plainly, nothing changed
    down = {**env, "CREDX_KMS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    refused = credx("keys", "check", "--all", "--json", env=down, check=4)
    failures = json.loads(refused.stdout)["failures"]
    assert len(failures) == 2 and all("could not be reached" in f["error"] for f in failures)
    assert "Traceback" not in refused.stderr
    assert checked(env)["failures"] == []


def test_a_wrapped_key_moved_to_another_field_key_does_not_unwrap_in_kms(
    app, cli_env, kms, kms_server, tmp_path
):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    env = {**cli_env, "CREDX_KMS_KEY_ID": key_id, "CREDX_KMS_ENDPOINT_URL": kms_server.endpoint_url}
    credx("init", env=env)
    make_vendor(app)
    for seed in (1, 2):
        path = write_file(tmp_path, f"f{seed}.csv", csv_text(exam_rows(3, seed=seed)))
        credx("ingest", str(path), "--vendor", "nccer", env=env)
    records = {}
    for path in (app.keyring.directory / "fields").glob("*.json"):
        record = json.loads(path.read_text())
        if record["scope"].startswith("delivery:"):
            records[path] = record
    (a, first), (b, second) = sorted(records.items())  # the two files' keys, swapped
    a.write_text(json.dumps({**first, "wrapped": second["wrapped"]}))
    b.write_text(json.dumps({**second, "wrapped": first["wrapped"]}))
    failures = json.loads(credx("keys", "check", "--all", "--json", env=env, check=4).stdout)
    assert len(failures["failures"]) == 2
    assert all("does not unwrap in KMS" in f["error"] for f in failures["failures"])
