"""`credx tokens create|list|revoke` as operators run them."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from access.events import AccessEvent
from eventlog.models import Event
from kernel.database import session_scope
from tests.cli import credx


# Subprocesses are slow; the services beneath are tested on both backends.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_create_list_revoke(cli_env, app):
    made = json.loads(credx("tokens", "create", "--role", "district", "--state", "LA",
                            "--district", "036", "--label", "Lafourche clerk", "--json",
                            env=cli_env).stdout)  # fmt: skip
    assert made["token"].startswith(f"credx_{made['id']}_") and made["active"]
    assert (made["role"], made["state"], made["district"]) == ("district", "LA", "036")
    listed = json.loads(credx("tokens", "list", "--json", env=cli_env).stdout)
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    revoked = json.loads(credx("tokens", "revoke", made["id"], "--json", env=cli_env).stdout)
    assert revoked["revoked_at"] and not revoked["active"]
    with session_scope(app.engine) as session:
        logged = list(session.exec(select(Event).where(Event.subject == f"token:{made['id']}")))
    assert [e.action for e in logged] == [AccessEvent.TOKEN_CREATED, AccessEvent.TOKEN_REVOKED]
    assert all(made["token"].split("_", 2)[2] not in e.payload for e in logged)
    result = credx("tokens", "create", "--role", "admin", "--expires-days", "7", env=cli_env)
    assert result.stdout.startswith("credx_") and "not shown again" in result.stderr
    refused = credx("tokens", "create", "--role", "district", "--state", "LA", env=cli_env,
                    check=1)  # fmt: skip
    assert "--district is required" in refused.stderr
