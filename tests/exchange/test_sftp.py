"""`SftpSource` against a real OpenSSH sshd on 127.0.0.1 (see tests/sshd.py).

End-to-end tests go through `exchange.deliveries.sweep` with the `app` fixture, so
they run on SQLite and PostgreSQL; tests of listing and downloading alone use the
source directly.  Failures mid-transfer are real: sshd's session processes are
killed, stopped or the whole server shut down while a download is under way.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest

from exchange import sftp as sftp_module
from exchange.connectors import SftpSettings
from exchange.deliveries import DeliveryFilter, list_deliveries, sweep
from exchange.models import Delivery
from exchange.pulls import apply_connector, pull
from exchange.sftp import SftpSource
from exchange.sources import SourceError
from exchange.ssh import SAFE_READ_SIZE, HostKeyRefused, fingerprint
from kernel.database import session_scope
from kernel.errors import NotFound
from tests.factories import csv_text, exam_rows, make_vendor, write_file
from tests.sshd import Sshd, fingerprint_of, generate_key, start_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[Sshd]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def outbound(sshd, tmp_path) -> Path:
    """The vendor's outbound directory for one test (sshd runs as us, so any path works)."""
    directory = tmp_path / "outbound"
    directory.mkdir()
    return directory


def sftp_settings(server: Sshd, directory: Path, **overrides) -> SftpSettings:
    fields = {
        "host": server.host,
        "port": server.port,
        "username": server.user,
        "key_file": server.ed25519_key,
        "host_key": server.host_key_fingerprint,
        "directory": str(directory),
        "stable_seconds": 0,
        "retries": 0,
    }
    return SftpSettings(**{**fields, **overrides})


def source_for(server: Sshd, directory: Path, **overrides) -> SftpSource:
    options = {k: overrides.pop(k) for k in ("sleep", "clock", "read_size", "io_timeout")
               if k in overrides}  # fmt: skip
    return SftpSource(
        sftp_settings(server, directory, **overrides), label="sftp:test", backoff=0.01, **options
    )


def deliveries(app) -> list[Delivery]:
    with session_scope(app.engine) as session:
        return list_deliveries(session, DeliveryFilter())


def stored_bytes(app, delivery_id: int) -> bytes:
    with session_scope(app.engine) as session:
        return app.vault(session).read_bytes(session.get(Delivery, delivery_id).blob_id)


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def after_first_chunk(monkeypatch, action: Callable[[], None]) -> dict[str, int]:
    """Run `action` (kill, stop, freeze the server) once, as soon as the first chunk of the
    first download has arrived: the failure then really happens mid-transfer."""
    original = sftp_module.ReadPipeline.chunks
    seen = {"bytes_before_failure": 0, "downloads": 0}

    def chunks(self) -> Iterator[bytes]:
        seen["downloads"] += 1
        for number, data in enumerate(original(self)):
            if seen["downloads"] == 1 and number == 1:
                seen["bytes_before_failure"] = len(data)
                action()
            yield data

    monkeypatch.setattr(sftp_module.ReadPipeline, "chunks", chunks)
    return seen


# -- end to end --------------------------------------------------------------------------


def test_sweep_pulls_each_ready_file_and_loads_its_rows(app, sshd, outbound):
    vendor = make_vendor(app)
    first = write_file(outbound, "2024-06-01.csv", csv_text(exam_rows(3)))
    write_file(outbound, "2024-06-02.csv", csv_text(exam_rows(2, seed=9)))

    swept = sweep(app, source_for(sshd, outbound), vendor, actor="test")

    assert [(s.name, s.outcome.rows_loaded) for s in swept] == [
        ("2024-06-01.csv", 3), ("2024-06-02.csv", 2),
    ]  # fmt: skip
    delivery = deliveries(app)[-1]
    assert (delivery.source, delivery.original_name) == ("sftp:test", "2024-06-01.csv")
    assert stored_bytes(app, delivery.id) == first.read_bytes()
    assert names_in(outbound) == ["2024-06-01.csv", "2024-06-02.csv"]  # post_action: leave


def test_a_connector_document_pulls_over_sftp_once(app, sshd, outbound):
    vendor = make_vendor(app)
    write_file(outbound, "a.csv", csv_text(exam_rows(3)))
    document = f"""\
name: nccer-sftp
vendor: {vendor}
kind: sftp
sftp:
  host: {sshd.host}
  port: {sshd.port}
  username: {sshd.user}
  key_file: {sshd.ed25519_key}
  host_key: "{sshd.host_key_fingerprint}"
  directory: {outbound}
  pattern: "*.csv"
  stable_seconds: 0
"""
    with session_scope(app.engine) as session:
        apply_connector(session, document, "nccer-sftp.yaml", "test")

    first = pull(app, "nccer-sftp", actor="test")
    again = pull(app, "nccer-sftp", actor="test")

    assert [(i.name, i.status, i.outcome["rows_loaded"]) for i in first.items] == [
        ("a.csv", "pulled", 3)
    ]
    assert [(i.name, i.status) for i in again.items] == [("a.csv", "already_pulled")]
    assert [d.source for d in deliveries(app)] == ["sftp:nccer-sftp"]


def test_the_pinned_fingerprint_is_the_one_ssh_keygen_prints(sshd):
    public = (sshd.workdir / "ssh_host_ed25519_key.pub").read_text().split()
    key = paramiko.Ed25519Key(data=base64.b64decode(public[1]))

    assert fingerprint(key) == sshd.host_key_fingerprint
    assert sshd.host_key_fingerprint == fingerprint_of(sshd.workdir / "ssh_host_ed25519_key.pub")


def test_a_different_host_key_is_refused_with_both_fingerprints(app, sshd, outbound):
    vendor = make_vendor(app)
    write_file(outbound, "a.csv", csv_text(exam_rows(2)))
    digest = hashlib.sha256(b"some other server").digest()
    pinned = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    with pytest.raises(HostKeyRefused) as refused:
        sweep(app, source_for(sshd, outbound, host_key=pinned, retries=3), vendor, actor="test")

    message = str(refused.value)
    assert pinned in message and sshd.host_key_fingerprint in message
    assert "Do not just accept" in message
    assert deliveries(app) == []
    assert names_in(outbound) == ["a.csv"]


def test_an_rsa_key_logs_in(app, sshd, outbound):
    vendor = make_vendor(app)
    write_file(outbound, "a.csv", csv_text(exam_rows(4)))

    [swept] = sweep(app, source_for(sshd, outbound, key_file=sshd.rsa_key), vendor, actor="test")

    assert swept.outcome.rows_loaded == 4


def test_aes_gcm_is_preferred_and_the_operator_can_disable_it(sshd, outbound):
    with source_for(sshd, outbound) as source:
        assert source._client.get_transport().local_cipher == "aes128-gcm@openssh.com"
    no_gcm = {"ciphers": ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]}
    with source_for(sshd, outbound, algorithms=no_gcm) as source:
        assert source._client.get_transport().local_cipher == "aes128-ctr"


def test_a_passphrase_comes_from_the_named_environment_variable(sshd, outbound, monkeypatch):
    key = sshd.workdir / "client_protected"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret", "-f", key], check=True)
        with (sshd.workdir / "authorized_keys").open("a") as authorized:
            authorized.write(Path(f"{key}.pub").read_text())
    write_file(outbound, "a.csv", "x")
    monkeypatch.delenv("CREDX_TEST_KEY_PASS", raising=False)
    source = source_for(sshd, outbound, key_file=key, key_passphrase_env="CREDX_TEST_KEY_PASS")

    with pytest.raises(SourceError, match="CREDX_TEST_KEY_PASS, which is not set"):
        source.__enter__()
    monkeypatch.setenv("CREDX_TEST_KEY_PASS", "s3cret")
    with source:
        assert [f.name for f in source.ready_files()] == ["a.csv"]


def test_a_key_the_server_does_not_know_is_refused_without_retrying(
    sshd, outbound, tmp_path, caplog
):
    source = source_for(sshd, outbound, key_file=generate_key(tmp_path / "stranger"), retries=3)

    with caplog.at_level(logging.WARNING), pytest.raises(SourceError, match="refused our key"):
        source.__enter__()

    assert "retry" not in caplog.text


# -- what is ready ---------------------------------------------------------------------------


def test_only_plain_visible_complete_files_matching_the_pattern_are_listed(sshd, outbound):
    for name in ["a.csv", "b.txt", "c.csv.part", "d.csv.tmp", ".hidden.csv", "e.CSV"]:
        write_file(outbound, name, "x")
    (outbound / "folder.csv").mkdir()
    os.symlink(outbound / "a.csv", outbound / "link.csv")

    with source_for(sshd, outbound, pattern="*.csv") as source:
        ready = source.ready_files()

    assert [f.name for f in ready] == ["a.csv"]
    info = (outbound / "a.csv").stat()
    assert (ready[0].size, ready[0].version) == (1, str(int(info.st_mtime)))


def test_a_file_still_growing_between_the_two_listings_waits(sshd, outbound):
    growing = write_file(outbound, "growing.csv", "header\n")
    write_file(outbound, "done.csv", "header\n")
    waits: list[float] = []

    def vendor_still_uploading(seconds: float) -> None:
        waits.append(seconds)
        with growing.open("a") as handle:
            handle.write("one more row\n")

    with source_for(sshd, outbound, stable_seconds=5, sleep=vendor_still_uploading) as source:
        assert [f.name for f in source.ready_files()] == ["done.csv"]
    assert waits == [5]
    with source_for(sshd, outbound, stable_seconds=5, sleep=waits.append) as source:
        assert [f.name for f in source.ready_files()] == ["done.csv", "growing.csv"]


def test_with_a_done_sidecar_only_marked_files_are_ready(sshd, outbound):
    write_file(outbound, "a.csv", "x")
    write_file(outbound, "a.csv.done", "")
    write_file(outbound, "b.csv", "x")  # still uploading: no marker yet

    with source_for(sshd, outbound, sidecar="done") as source:
        assert [f.name for f in source.ready_files()] == ["a.csv"]


def test_a_sha256_sidecar_is_read_and_verified(app, sshd, outbound):
    vendor = make_vendor(app)
    content = csv_text(exam_rows(3)).encode()
    digest = hashlib.sha256(content).hexdigest()
    write_file(outbound, "a.csv", content)
    write_file(outbound, "a.csv.sha256", f"{digest.upper()}  a.csv\n")
    write_file(outbound, "b.csv", content)  # no sidecar yet: not ready
    source = source_for(sshd, outbound, sidecar="sha256")

    with source:
        assert [(f.name, f.sha256) for f in source.ready_files()] == [("a.csv", digest)]
    [swept] = sweep(app, source, vendor, actor="test")

    assert (swept.name, swept.outcome.rows_loaded, swept.outcome.sha256) == ("a.csv", 3, digest)


def test_a_file_that_does_not_match_its_sha256_sidecar_is_refused(app, sshd, outbound, tmp_path):
    vendor = make_vendor(app)
    content = csv_text(exam_rows(3)).encode()
    write_file(outbound, "a.csv", content)
    write_file(outbound, "a.csv.sha256", hashlib.sha256(b"something else").hexdigest() + "\n")
    source = source_for(sshd, outbound, sidecar="sha256", post_action="delete")

    with pytest.raises(SourceError, match=r"does not match its a\.csv\.sha256 sidecar"):
        sweep(app, source, vendor, actor="test")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with source, pytest.raises(SourceError):
        source.fetch(source.ready_files()[0], downloads)

    assert deliveries(app) == []
    assert names_in(downloads) == []  # the refused copy is not left behind
    assert (outbound / "a.csv").read_bytes() == content
    assert names_in(outbound) == ["a.csv", "a.csv.sha256"]


# -- after commit ------------------------------------------------------------------------


@pytest.mark.parametrize("post_action", ["move", "delete"])
def test_the_vendor_copy_is_moved_or_deleted_only_after_commit(app, sshd, outbound, post_action):
    content = csv_text(exam_rows(2))
    write_file(outbound, "a.csv", content)
    write_file(outbound, "a.csv.done", "")
    source = source_for(sshd, outbound, sidecar="done", post_action=post_action)

    with pytest.raises(NotFound, match="nobody"):  # unknown vendor: the ingest fails
        sweep(app, source, "nobody", actor="test")
    assert names_in(outbound) == ["a.csv", "a.csv.done"]

    [swept] = sweep(app, source, make_vendor(app), actor="test")

    assert swept.outcome.rows_loaded == 2
    if post_action == "delete":
        assert names_in(outbound) == []
    else:
        assert names_in(outbound) == ["processed"]
        assert names_in(outbound / "processed") == ["a.csv", "a.csv.done"]
        assert (outbound / "processed" / "a.csv").read_text() == content


def test_a_name_reused_the_next_night_is_moved_beside_the_earlier_one(sshd, outbound):
    processed = outbound / "archive" / "2024"
    processed.mkdir(parents=True)
    write_file(processed, "daily.csv", "yesterday")
    today = write_file(outbound, "daily.csv", "today")
    mtime = int(today.stat().st_mtime)
    source = source_for(sshd, outbound, post_action="move", processed_dir="archive/2024")

    with source:
        [item] = source.ready_files()
        source.committed(item)

    assert names_in(processed) == ["daily.csv", f"daily.csv.{mtime}"]
    assert (processed / f"daily.csv.{mtime}").read_text() == "today"


def test_a_file_replaced_after_the_pull_is_not_deleted(sshd, outbound):
    write_file(outbound, "a.csv", "first")
    source = source_for(sshd, outbound, post_action="delete")

    with source:
        [item] = source.ready_files()
        write_file(outbound, "a.csv", "the next delivery")
        source.committed(item)

    assert (outbound / "a.csv").read_text() == "the next delivery"


def test_sidecars_of_a_file_already_gone_are_cleaned_up(sshd, outbound):
    write_file(outbound, "a.csv", "x")
    write_file(outbound, "a.csv.done", "")
    source = source_for(sshd, outbound, sidecar="done", post_action="move")

    with source:
        [item] = source.ready_files()
        (outbound / "a.csv").unlink()  # as after a retry whose first rename went through
        source.committed(item)

    assert names_in(outbound) == []


# -- failures mid-transfer -----------------------------------------------------------------


def test_a_connection_dropped_mid_transfer_is_retried_from_the_start(
    app, sshd, outbound, monkeypatch, caplog
):
    vendor = make_vendor(app)
    big = write_file(outbound, "big.csv", csv_text(exam_rows(5000)))
    seen = after_first_chunk(monkeypatch, sshd.drop_sessions)
    # small reads, two in flight: most of the file is still on the server when it drops
    source = source_for(sshd, outbound, retries=2, read_size=SAFE_READ_SIZE, max_requests=2)

    with caplog.at_level(logging.WARNING, logger="credx.sftp"):
        [swept] = sweep(app, source, vendor, actor="test")

    assert 0 < seen["bytes_before_failure"] < big.stat().st_size // 4
    assert seen["downloads"] == 2 and "retry 1" in caplog.text
    assert (swept.outcome.rows_total, swept.outcome.rows_loaded) == (5000, 5000)
    [delivery] = deliveries(app)
    assert stored_bytes(app, delivery.id) == big.read_bytes()


def test_a_server_gone_mid_transfer_ends_in_source_error_and_ingests_nothing(
    app, outbound, monkeypatch, tmp_path
):
    vendor = make_vendor(app)
    server = start_sshd(tmp_path / "doomed-sshd")  # this one is shut down for good
    try:
        write_file(outbound, "big.csv", csv_text(exam_rows(3000)))
        seen = after_first_chunk(monkeypatch, server.stop)
        source = source_for(server, outbound, retries=2, read_size=SAFE_READ_SIZE, max_requests=2)

        with pytest.raises(SourceError, match="the connection failed 3 times"):
            sweep(app, source, vendor, actor="test")
    finally:
        server.stop()

    assert seen["bytes_before_failure"] > 0
    assert deliveries(app) == []
    assert names_in(outbound) == ["big.csv"]
    assert not list(app.settings.home.glob("credx-pull-*"))


def test_a_frozen_server_is_cut_off_at_the_pull_deadline(sshd, outbound, monkeypatch, tmp_path):
    write_file(outbound, "big.bin", os.urandom(4 << 20))
    frozen: list[int] = []

    def freeze() -> None:
        frozen.extend(sshd.session_pids())
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)

    after_first_chunk(monkeypatch, freeze)
    source = source_for(
        sshd, outbound, pull_deadline=2, io_timeout=120, read_size=SAFE_READ_SIZE, max_requests=2
    )
    started = time.monotonic()
    try:
        with source, pytest.raises(SourceError, match="pull_deadline of 2 s"):
            source.fetch(source.ready_files()[0], tmp_path)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGKILL)

    assert frozen and names_in(tmp_path) == ["outbound"]
    assert time.monotonic() - started < 10  # the watchdog cut it off, not the 120 s timeout


def test_a_silent_server_times_out_and_the_download_is_retried(
    sshd, outbound, monkeypatch, tmp_path
):
    content = os.urandom(2 << 20)
    write_file(outbound, "big.bin", content)
    frozen: list[int] = []

    def freeze() -> None:
        frozen.extend(sshd.session_pids())
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)

    after_first_chunk(monkeypatch, freeze)
    source = source_for(
        sshd, outbound, retries=1, io_timeout=1, read_size=SAFE_READ_SIZE, max_requests=2
    )
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    started = time.monotonic()
    try:
        with source:
            path = source.fetch(source.ready_files()[0], downloads)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGKILL)

    assert path.read_bytes() == content
    assert names_in(downloads) == [path.name] and not path.name.startswith("big")
    assert time.monotonic() - started < 10  # one 1 s timeout, no wait to close the handle


def test_a_server_that_answers_reads_short_is_asked_for_the_rest(sshd, outbound, tmp_path):
    content = os.urandom(3 << 20)
    write_file(outbound, "big.bin", content)
    # OpenSSH serves at most 255 KiB per read: asking for 1 MiB gets short answers
    source = source_for(sshd, outbound, read_size=1 << 20, max_requests=4)

    with source:
        path = source.fetch(source.ready_files()[0], tmp_path)

    assert path.read_bytes() == content


def test_the_deadline_is_checked_between_chunks(sshd, outbound, tmp_path):
    write_file(outbound, "big.bin", os.urandom(4 << 20))
    ticks = iter(range(10_000))  # every look at the clock is one second later
    source = source_for(
        sshd, outbound, pull_deadline=20, clock=lambda: float(next(ticks)),
        read_size=SAFE_READ_SIZE,
    )  # fmt: skip
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    with source, pytest.raises(SourceError, match="pull_deadline"):
        source.fetch(source.ready_files()[0], downloads)

    assert names_in(downloads) == []


def test_a_file_that_grew_after_listing_is_not_taken(sshd, outbound, tmp_path):
    grown = write_file(outbound, "a.csv", "header\n")
    source = source_for(sshd, outbound)

    with source:
        [item] = source.ready_files()
        with grown.open("a") as handle:
            handle.write("late row\n")
        with pytest.raises(SourceError, match="changed while it was being taken"):
            source.fetch(item, tmp_path)

    assert names_in(tmp_path) == ["outbound"]
