"""`credx log checkpoint` and `credx log verify --checkpoint` as a privacy office would use them."""

import json

from sqlalchemy import create_engine, text

from tests.cli import credx
from tests.eventlog.guard import disable_guard


def test_checkpoint_then_verify_then_truncate(cli_env, tmp_path):
    credx("init", env=cli_env)
    out = tmp_path / "kept.json"
    made = json.loads(credx("log", "checkpoint", "--out", str(out), "--json", env=cli_env).stdout)
    assert made["path"] == str(out) and made["tree_size"] >= 1
    assert json.loads(out.read_text())["checkpoint"]["root_hash"] == made["root_hash"]
    again = credx("log", "checkpoint", "--out", str(out), env=cli_env, check=1)
    assert "never overwritten" in again.stderr

    ok = json.loads(credx("log", "verify", "--checkpoint", str(out), "--json", env=cli_env).stdout)
    assert ok["ok"] and ok["entries"] == made["tree_size"] + 1 and ok["consistency_proof"]
    plain = credx("log", "verify", "--checkpoint", str(out), env=cli_env).stdout
    assert f"all {made['tree_size']} entries" in plain
    assert credx("log", "verify", "--json", env=cli_env).stdout  # the plain form still works

    engine = create_engine(cli_env["CREDX_DATABASE_URL"])
    with engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("DELETE FROM events WHERE seq > 1"))
    engine.dispose()
    broken = credx("log", "verify", "--checkpoint", str(out), env=cli_env, check=4)
    assert "truncated" in broken.stderr


def test_verify_refuses_a_checkpoint_of_another_installation(cli_env, tmp_path):
    other_env = {"CREDX_HOME": str(tmp_path / "other")}
    credx("init", env=other_env)
    foreign = tmp_path / "foreign.json"
    credx("log", "checkpoint", "--out", str(foreign), env=other_env)
    credx("init", env=cli_env)
    result = credx("log", "verify", "--checkpoint", str(foreign), "--json", env=cli_env, check=4)
    assert "not by this installation's signing key" in json.loads(result.stdout)["problem"]
    printed = credx("log", "checkpoint", env=cli_env).stdout  # no --out: the document on stdout
    assert set(json.loads(printed)) == {"checkpoint", "signature", "public_key"}
