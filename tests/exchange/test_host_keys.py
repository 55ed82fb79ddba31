"""Issue 18 item 5: every refusal of a pull is in the event log with its reason, and a
server offering RSA and Ed25519 host keys is reached with an RSA pin alone (no
`algorithms` needed) or with a list pinning several keys."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from eventlog.log import EventLog
from exchange.pulls import apply_connector, pull
from exchange.ssh import HostKeyRefused
from kernel.database import session_scope
from tests.cli import credx
from tests.factories import csv_text, exam_rows, make_vendor, write_file
from tests.sshd import Sshd, start_sshd_with_two_host_keys

WRONG = "SHA256:" + "A" * 43


@pytest.fixture(scope="module")
def two_key_sshd(tmp_path_factory) -> Iterator[tuple[Sshd, str]]:
    server, rsa_fingerprint = start_sshd_with_two_host_keys(tmp_path_factory.mktemp("sshd2"))
    yield server, rsa_fingerprint
    server.stop()


def connector(app, server: Sshd, outbound, host_key: str) -> str:
    document = f"""\
name: nccer-sftp
vendor: nccer
kind: sftp
sftp:
  host: {server.host}
  port: {server.port}
  username: {server.user}
  key_file: {server.ed25519_key}
  host_key: {host_key}
  directory: {outbound}
  stable_seconds: 0
  retries: 0
"""
    with session_scope(app.engine) as session:
        return apply_connector(session, document, "nccer-sftp.yaml", "test").name


@pytest.mark.parametrize("pin", ["rsa", "list"])
def test_a_server_with_two_host_keys_is_reached_by_any_pinned_one(app, two_key_sshd, tmp_path, pin):
    server, rsa_fingerprint = two_key_sshd
    make_vendor(app)
    outbound = tmp_path / "outbound"
    outbound.mkdir()
    write_file(outbound, "a.csv", csv_text(exam_rows(2)))
    host_key = (
        f'"{rsa_fingerprint}"' if pin == "rsa" else f'["{WRONG}", "{server.host_key_fingerprint}"]'
    )
    name = connector(app, server, outbound, host_key)
    (item,) = pull(app, name, actor="test").items
    assert (item.status, item.outcome["rows_loaded"]) == ("pulled", 2)


def test_a_host_key_refusal_is_logged_with_its_reason(app, two_key_sshd, tmp_path, cli_env):
    server, _rsa = two_key_sshd
    make_vendor(app)
    outbound = tmp_path / "outbound"
    outbound.mkdir()
    write_file(outbound, "a.csv", csv_text(exam_rows(2)))
    name = connector(app, server, outbound, f'"{WRONG}"')
    with pytest.raises(HostKeyRefused) as refused:
        pull(app, name, actor="test")
    # the key offered first and the pin are named
    assert server.host_key_fingerprint in str(refused.value) and WRONG in str(refused.value)
    with session_scope(app.engine) as session:
        events = EventLog(session).for_subject(f"connector:{name}")
        (refusal,) = [e for e in events if e.action == "connector:pull:refused"]
        payload = json.loads(refusal.payload)
        assert payload["error"] == "HostKeyRefused" and WRONG in payload["reason"]
    (row,) = json.loads(credx("connectors", "list", "--json", env=cli_env).stdout)
    assert row["state"] == "failed" and "offered host key" in row["last_error"]
    assert list(outbound.iterdir()) == [outbound / "a.csv"]
