"""`credx agreements ...` as an operator runs it: a real subprocess, real exit codes, real JSON."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from kernel.clock import today
from tests.agreements.samples import agreement_yaml
from tests.cli import credx


def agreement_file(tmp_path, name: str, **fields: str) -> str:
    path = tmp_path / name
    path.write_text(agreement_yaml(**fields), encoding="utf-8")
    return str(path)


def days(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def test_apply_is_idempotent_and_history_keeps_every_version(cli_env, tmp_path):
    credx("init", env=cli_env)
    credx("vendors", "add", "nccer", "--name", "NCCER", env=cli_env)
    path = agreement_file(tmp_path, "tn.yaml", effective_from=days(-10), effective_to=days(700))
    apply = ("agreements", "apply", path, "--json")
    assert json.loads(credx(*apply, env=cli_env).stdout) == {
        "id": "tn-nccer-2026", "version": 1, "changed": True, "adoptions": [],
    }  # fmt: skip
    assert json.loads(credx(*apply, env=cli_env).stdout)["changed"] is False
    # CRLF line ends are kept as sent, so the recorded SHA-256 is the file's own
    changed = agreement_yaml(effective_from=days(-10), effective_to=days(700), states="[TN, KY]")
    (tmp_path / "tn.yaml").write_bytes(changed.replace("\n", "\r\n").encode())
    assert json.loads(credx(*apply, env=cli_env).stdout) == {
        "id": "tn-nccer-2026", "version": 2, "changed": True, "adoptions": [],
    }  # fmt: skip
    history = json.loads(
        credx("agreements", "history", "tn-nccer-2026", "--json", env=cli_env).stdout
    )
    assert [h["version"] for h in history] == [1, 2]
    assert history[1]["sha256"] == hashlib.sha256((tmp_path / "tn.yaml").read_bytes()).hexdigest()
    assert history[0]["sha256"] != history[1]["sha256"]
    assert all(h["applied_by"].startswith("cli:") and h["applied_at"] for h in history)
    shown = json.loads(credx("agreements", "show", "tn-nccer-2026", "--json", env=cli_env).stdout)
    assert (shown["version"], shown["states"], shown["status"]) == (2, ["TN", "KY"], "in_force")
    assert shown["credentials"] == ["NCCER001", "NCCER007"] and shown["retention_days"] == 365


def test_list_shows_each_status_and_warns_of_expiry_once(cli_env, tmp_path):
    credx("init", env=cli_env)
    credx("vendors", "add", "nccer", "--name", "NCCER", env=cli_env)
    documents = {
        "tn-ending": dict(states="[TN]", effective_from=days(-300), effective_to=days(30)),
        "ky-running": dict(states="[KY]", effective_from=days(-300), effective_to=days(61)),
        "la-over": dict(states="[LA]", effective_from=days(-300), effective_to=days(-1)),
        "ar-later": dict(states="[AR]", effective_from=days(10), effective_to=days(400)),
        "consortium": dict(states="[MS, AL]", template="true", effective_to=days(5)),
    }
    for agreement_id, fields in documents.items():
        path = agreement_file(tmp_path, f"{agreement_id}.yaml", id=agreement_id, **fields)
        credx("agreements", "apply", path, env=cli_env)
    listed = json.loads(credx("agreements", "list", "--json", env=cli_env).stdout)
    by_id = {row["id"]: row for row in listed}
    assert [row["id"] for row in listed] == sorted(documents)
    assert {i: (r["status"], r["expiring_soon"]) for i, r in by_id.items()} == {
        "tn-ending": ("in_force", True),
        "ky-running": ("in_force", False),
        "la-over": ("expired", False),
        "ar-later": ("not_yet_in_force", False),
        "consortium": ("template", False),
    }
    assert by_id["consortium"]["is_template"] and not by_id["tn-ending"]["is_template"]
    assert by_id["tn-ending"]["effective_to"] == days(30) and by_id["tn-ending"]["version"] == 1
    assert by_id["consortium"]["states"] == ["MS", "AL"]
    credx("agreements", "list", env=cli_env)  # the table, a second listing
    for agreement_id, expected in (("tn-ending", 1), ("ky-running", 0), ("consortium", 0)):
        log = credx("log", "show", "--subject", f"agreement:{agreement_id}", "--json", env=cli_env)
        actions = [e["action"] for e in json.loads(log.stdout)]
        assert actions.count("agreement:term:expiring") == expected, agreement_id


def test_bad_documents_and_unknown_ids_exit_1_with_the_field_and_line(cli_env, tmp_path):
    credx("init", env=cli_env)
    credx("vendors", "add", "nccer", "--name", "NCCER", env=cli_env)
    path = agreement_file(tmp_path, "tn.yaml", effective_to="2025-01-01")
    bad = credx("agreements", "apply", path, env=cli_env, check=1)
    assert f"{path} line 6, effective_to: 2025-01-01 is before effective_from" in bad.stderr
    missing = credx("agreements", "apply", str(tmp_path / "none.yaml"), env=cli_env, check=1)
    assert "cannot read it" in missing.stderr
    for command in ("show", "history"):
        unknown = credx("agreements", command, "nope", env=cli_env, check=1)
        assert "no agreement 'nope'" in unknown.stderr
    assert json.loads(credx("agreements", "list", "--json", env=cli_env).stdout) == []
