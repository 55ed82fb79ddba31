"""Acknowledgement files written back to the vendor after a pull: a loaded, a partially
loaded and a rejected file, over the real sshd and over S3 (moto's server over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from exchange.pulls import apply_connector, pull
from kernel.database import session_scope
from tests.factories import csv_text, exam_row, exam_rows, make_vendor, write_file
from tests.s3server import REGION, S3Server, running_s3_server
from tests.sshd import Sshd, start_sshd

BAD = exam_row(2, vendor_record_id="NCCER-REC-0002", birth_date="not-a-date")
FILES = {
    "loaded.csv": csv_text(exam_rows(3)),
    "partial.csv": csv_text([exam_row(1), BAD, exam_row(3)]),
    "rejected.csv": "",
}
EXPECTED = {
    "loaded.csv": ("loaded", 3, 0),
    "partial.csv": ("partially_loaded", 2, 1),
    "rejected.csv": ("rejected", 0, 0),
}


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[Sshd]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server


def check(acks: dict[str, bytes]) -> None:
    assert sorted(acks) == sorted(f"{name}.ack.json" for name in FILES)
    for name, (status, loaded, rejected) in EXPECTED.items():
        ack = json.loads(acks[f"{name}.ack.json"])
        assert (ack["file"].rpartition("/")[2], ack["status"], ack["rows_loaded"],
                ack["rows_rejected"]) == (name, status, loaded, rejected)  # the vendor's key
        assert len(ack["sha256"]) == 64 and ack["delivery_id"] >= 1
        if name == "partial.csv":
            [row] = ack["rejections"]
            assert row["vendor_record_id"] == "NCCER-REC-0002" and row["column"] == "birth_date"
        if name == "rejected.csv":
            assert ack["rejections"] and ack["rejections"][0]["row_number"] is None
        text = acks[f"{name}.ack.json"].decode()
        assert BAD["first_name"] not in text and BAD["last_name"] not in text
        assert "not-a-date" not in text  # the rejected value is not echoed back


def test_acknowledgements_land_in_the_sftp_outbox_by_rename(app, sshd, tmp_path):
    vendor = make_vendor(app)
    outbound, outbox = tmp_path / "outbound", tmp_path / "inbound-acks"
    outbound.mkdir()
    outbox.mkdir()
    for name, text in FILES.items():
        write_file(outbound, name, text)
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
acknowledgements:
  outbox: {outbox}
"""
    with session_scope(app.engine) as session:
        apply_connector(session, document, "nccer-sftp.yaml", "test")
    report = pull(app, "nccer-sftp", actor="test")
    assert sorted(item.name for item in report.items) == sorted(FILES)
    check({path.name: path.read_bytes() for path in outbox.iterdir()})  # no .part left over


def test_acknowledgements_land_under_the_s3_prefix(app, s3_server):
    vendor = make_vendor(app)
    s3 = s3_server.client()
    bucket = s3_server.new_bucket(s3)
    for name, text in FILES.items():
        s3.put_object(Bucket=bucket, Key=f"outbound/{name}", Body=text.encode())
    document = f"""\
name: nccer-s3
vendor: {vendor}
kind: s3
s3:
  bucket: {bucket}
  prefix: outbound/
  endpoint_url: {s3_server.endpoint_url}
  region: {REGION}
acknowledgements:
  outbox: acks/
"""
    with session_scope(app.engine) as session:
        apply_connector(session, document, "nccer-s3.yaml", "test")
    pull(app, "nccer-s3", actor="test")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="acks/").get("Contents", [])
    acks = {o["Key"].removeprefix("acks/"): s3.get_object(Bucket=bucket, Key=o["Key"])["Body"]
            .read() for o in listed}  # fmt: skip
    check({name.rpartition("/")[2]: body for name, body in acks.items()})
