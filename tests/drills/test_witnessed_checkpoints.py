"""Item 10 of issue 15: an attacker holding the database rewrites the whole event log.

Before: nothing made checkpoints in a deployment and the daily verification ran without one,
so a rebuilt chain passed.  Now the worker (and `credx log checkpoint --witness`) keeps a
signed checkpoint in an S3 bucket with object lock (moto's S3 server, over HTTP), and the
daily `credx log verify --latest-checkpoint` names the rewrite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import text

from eventlog.log import EventLog
from exchange.events import ExchangeEvent
from exchange.scheduler import enqueue_due, run_until_idle
from kernel.database import session_scope
from tests.cli import credx
from tests.eventlog.guard import disable_guard

ROOT = Path(__file__).resolve().parents[2]


def record(app, count: int, start: int = 0) -> None:
    with session_scope(app.engine) as session:
        log = EventLog(session)
        for n in range(start, start + count):
            log.record(ExchangeEvent.DELIVERY_RECEIVED, f"delivery:{n}", "test", n=n)


@pytest.fixture
def witness(s3_server, app, cli_env):
    """A bucket with object lock, configured as the witness for the app and the CLI."""
    client = s3_server.client()
    bucket = _locked_bucket(client)
    url = f"s3://{bucket}/log"
    app.settings.checkpoint_witness_url = url
    app.settings.s3_endpoint_url = s3_server.endpoint_url
    env = {
        **cli_env,
        "CREDX_CHECKPOINT_WITNESS_URL": url,
        "CREDX_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "CREDX_S3_REGION": "us-east-1",
    }
    return client, bucket, env


def _locked_bucket(client) -> str:
    import uuid

    name = f"credx-witness-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def rewrite_history(app) -> None:
    """What an attacker with the database does: drop the log, write a consistent new one."""
    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("DELETE FROM events"))
    record(app, 12, start=100)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_rewritten_log_passes_plain_verify_but_not_the_witnessed_checkpoint(app, witness):
    client, bucket, env = witness
    record(app, 5)
    kept = json.loads(credx("log", "checkpoint", "--witness", "--json", env=env).stdout)
    assert kept["path"].startswith(f"s3://{bucket}/log/checkpoint-") and kept["tree_size"] == 5
    key = kept["path"].removeprefix(f"s3://{bucket}/")
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"  # not even the bucket's owner may delete it
    with pytest.raises(ClientError):  # nor overwrite it: a delete of the version is refused
        client.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    record(app, 3, start=5)
    good = json.loads(credx("log", "verify", "--latest-checkpoint", "--json", env=env).stdout)
    assert good["ok"] and good["entries"] == 9
    rewrite_history(app)
    assert credx("log", "verify", env=env).returncode == 0  # the rebuilt chain is consistent
    caught = credx("log", "verify", "--latest-checkpoint", "--json", env=env, check=4)
    assert "rewritten or the chain was reset" in json.loads(caught.stdout)["problem"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_worker_witnesses_a_checkpoint_daily(app, witness):
    from credx.jobs import JOB_HANDLERS

    client, bucket, _env = witness
    record(app, 4)
    added = enqueue_due(app)
    assert any(key.startswith("checkpoint:log:") for key in added)
    assert enqueue_due(app) == []  # once a day
    run_until_idle(app, "drill", JOB_HANDLERS)
    listed = client.list_objects_v2(Bucket=bucket, Prefix="log/")["Contents"]
    assert len(listed) == 1 and listed[0]["Key"].startswith("log/checkpoint-0000000000")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_witness_bucket_without_object_lock_is_refused(app, witness, s3_server):
    _client, _bucket, env = witness
    plain = s3_server.new_bucket()
    ran = credx("log", "checkpoint", "--witness", env={**env, "CREDX_CHECKPOINT_WITNESS_URL":
                                                      f"s3://{plain}/log"}, check=1)  # fmt: skip
    assert "no S3 Object Lock" in ran.stderr


def test_the_shipped_daily_verification_uses_the_latest_checkpoint():
    unit = (ROOT / "deploy" / "systemd" / "credx-log-verify.service").read_text()
    assert "credx log verify --latest-checkpoint" in unit
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert "CREDX_CHECKPOINT_WITNESS_URL: s3://" in compose
    assert "--with-lock" in (ROOT / "deploy" / "blobstore-init.sh").read_text()
