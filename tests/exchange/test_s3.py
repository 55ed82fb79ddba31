"""S3 over HTTP (moto's server on loopback): vendor pulls through `S3Source`, blobs in
`S3BlobStore`, and one blob-store contract run against the local and the S3 store."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from sqlmodel import func, select

from exchange.connectors import S3Settings
from exchange.deliveries import sweep
from exchange.models import Delivery
from exchange.pulls import apply_connector, pull
from exchange.s3 import MB, S3BlobStore, S3Source
from exchange.sources import RemoteFile, SourceError
from exchange.storage import LocalBlobStore, store_key_for
from exchange.vault import Vault
from kernel.database import session_scope
from kernel.errors import IntegrityFailure, NotFound
from tests.factories import csv_text, exam_rows, make_vendor
from tests.s3server import REGION, S3Server, running_s3_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server


@pytest.fixture
def s3(s3_server):
    """The test's own client: arranges objects and checks what the code under test did."""
    return s3_server.client()


@pytest.fixture
def bucket(s3_server, s3) -> str:
    return s3_server.new_bucket(s3)


def source_for(server: S3Server, bucket: str, **settings) -> S3Source:
    return S3Source(
        S3Settings(bucket=bucket, endpoint_url=server.endpoint_url, region=REGION, **settings)
    )


def body_of(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def keys_in(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def delivery_count(app) -> int:
    with app.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Delivery)).scalar_one()


def listed(source: S3Source, key: str) -> RemoteFile:
    with source:
        return next(item for item in source.ready_files() if item.name == key)


# ---------------------------------------------------------------------------- pulls


def test_sweep_pulls_ready_objects_end_to_end_and_skips_the_rest(app, s3_server, s3, bucket):
    vendor = make_vendor(app)
    s3.put_object(Bucket=bucket, Key="outbound/2026-11-26.csv", Body=csv_text(exam_rows(3)))
    s3.put_object(Bucket=bucket, Key="outbound/2026-11-27.csv", Body=csv_text(exam_rows(2, 9)))
    s3.put_object(Bucket=bucket, Key="outbound/", Body=b"")  # a console "folder"
    s3.put_object(Bucket=bucket, Key="outbound/2026-11-28.csv.part", Body=b"candidate")
    s3.put_object(Bucket=bucket, Key="processed/outbound/2026-11-25.csv", Body=b"old")
    s3.put_object(Bucket=bucket, Key="elsewhere/other.csv", Body=csv_text(exam_rows(1)))
    swept = sweep(app, source_for(s3_server, bucket, prefix="outbound/"), vendor, actor="test")
    assert [(s.name, s.outcome.rows_loaded) for s in swept] == [
        ("outbound/2026-11-26.csv", 3),
        ("outbound/2026-11-27.csv", 2),
    ]
    with app.engine.connect() as connection:
        delivery = connection.execute(
            select(Delivery.source, Delivery.original_name).where(
                Delivery.id == swept[0].outcome.delivery_id
            )
        ).one()
    assert tuple(delivery) == (f"s3://{bucket}/outbound/", "outbound/2026-11-26.csv")
    assert "outbound/2026-11-26.csv" in keys_in(s3, bucket)  # post_action: leave


@pytest.mark.parametrize(
    ("post_action", "left"),
    [
        ("leave", ["results.csv"]),
        ("copy", ["processed/results.csv", "results.csv"]),  # issue 18 item 6: copy keeps it
        ("move", ["processed/results.csv"]),
        ("delete", []),
    ],
)
def test_each_post_action_does_what_it_is_named(app, s3_server, s3, bucket, post_action, left):
    vendor = make_vendor(app)
    content = csv_text(exam_rows(4)).encode()
    s3.put_object(Bucket=bucket, Key="results.csv", Body=content)
    source = source_for(s3_server, bucket, post_action=post_action)
    [swept] = sweep(app, source, vendor, actor="test")
    assert swept.outcome.rows_loaded == 4
    assert keys_in(s3, bucket) == left
    for key in left:
        assert body_of(s3, bucket, key) == content


def test_a_failed_ingest_leaves_the_object_where_it_was(app, s3_server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="results.csv", Body=csv_text(exam_rows(2)))
    source = source_for(s3_server, bucket, post_action="move")
    with pytest.raises(NotFound, match="unknown vendor"):
        sweep(app, source, "no-such-vendor", actor="test")
    assert keys_in(s3, bucket) == ["results.csv"]
    assert delivery_count(app) == 0


def test_an_sse_s3_encrypted_object_is_pulled(app, s3_server, s3, bucket):
    vendor = make_vendor(app)
    s3.put_object(
        Bucket=bucket, Key="sse.csv", Body=csv_text(exam_rows(3)), ServerSideEncryption="AES256"
    )
    assert s3.head_object(Bucket=bucket, Key="sse.csv")["ServerSideEncryption"] == "AES256"
    [swept] = sweep(app, source_for(s3_server, bucket), vendor, actor="test")
    assert swept.outcome.rows_loaded == 3 and swept.outcome.status == "loaded"


def test_listing_follows_pages_past_a_thousand_objects(s3_server, s3, bucket):
    keys = [f"in/{n:05d}.csv" for n in range(1050)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"), keys))
    assert s3.list_objects_v2(Bucket=bucket)["IsTruncated"]  # one call would not see them all
    source = source_for(s3_server, bucket, prefix="in/")
    with source:
        ready = source.ready_files()
    assert [item.name for item in ready] == keys
    assert {item.size for item in ready} == {1}
    assert {item.version for item in ready} == {hashlib.md5(b"x").hexdigest()}  # noqa: S324


def test_an_object_replaced_after_listing_is_refused_and_nothing_ingested(
    app, s3_server, s3, bucket
):
    vendor = make_vendor(app)
    original = csv_text(exam_rows(3)).encode()
    replacement = original.replace(b"a", b"b")  # same size, other content, other ETag
    s3.put_object(Bucket=bucket, Key="results.csv", Body=original)

    class ReplacedAfterListing(S3Source):
        def ready_files(self) -> list[RemoteFile]:
            ready = super().ready_files()
            s3.put_object(Bucket=bucket, Key="results.csv", Body=replacement)
            return ready

    source = ReplacedAfterListing(source_for(s3_server, bucket, post_action="move").settings)
    with pytest.raises(SourceError, match="replaced after it was listed"):
        sweep(app, source, vendor, actor="test")
    assert delivery_count(app) == 0
    assert keys_in(s3, bucket) == ["results.csv"]
    assert body_of(s3, bucket, "results.csv") == replacement


def test_an_object_replaced_during_the_download_is_refused(s3_server, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="results.csv", Body=b"1" * 1000)
    source = source_for(s3_server, bucket)
    item = listed(source, "results.csv")
    replaced = []

    def replace_before_first_get(**_):
        if not replaced:  # the HEAD has passed; the GET must still notice
            replaced.append(s3.put_object(Bucket=bucket, Key="results.csv", Body=b"2" * 1000))

    with source:
        source.client.meta.events.register("before-call.s3.GetObject", replace_before_first_get)
        with pytest.raises(SourceError, match="replaced after it was listed"):
            source.fetch(item, tmp_path)
    assert replaced and list(tmp_path.iterdir()) == []


def test_a_size_other_than_listed_is_refused(s3_server, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="results.csv", Body=b"x" * 100)
    source = source_for(s3_server, bucket)
    item = listed(source, "results.csv")
    with source, pytest.raises(SourceError, match="size is now 100, not 101"):
        source.fetch(RemoteFile(item.name, 101, item.modified, item.version), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_sha256_other_than_the_vendors_is_refused(s3_server, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="results.csv", Body=b"x" * 100)
    source = source_for(s3_server, bucket)
    item = listed(source, "results.csv")
    wrong = RemoteFile(item.name, item.size, item.modified, item.version, sha256="0" * 64)
    with source, pytest.raises(SourceError, match="SHA-256 does not match"):
        source.fetch(wrong, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_stored_sha256_checksum_is_verified(s3_server, s3, bucket, tmp_path):
    payload = os.urandom(50_000)
    s3.put_object(Bucket=bucket, Key="signed.csv", Body=payload, ChecksumAlgorithm="SHA256")
    source = source_for(s3_server, bucket)
    item = listed(source, "signed.csv")
    with source:
        assert source.fetch(item, tmp_path).read_bytes() == payload


def test_a_multipart_object_downloads_in_ranges_with_the_right_sha256(
    s3_server, s3, bucket, tmp_path
):
    payload = os.urandom(12 * MB)
    upload = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s3.upload_file(str(_write(tmp_path / "upload", payload)), bucket, "big.csv", Config=upload)
    source = source_for(s3_server, bucket, multipart_threshold_mb=5)
    item = listed(source, "big.csv")
    assert item.version.endswith("-3")  # a multipart ETag: not the MD5 of the content
    requests = []

    def record(params, **_):
        requests.append({k.lower(): v for k, v in params["headers"].items()})

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with source:
        source.client.meta.events.register("before-call.s3.GetObject", record)
        path = source.fetch(item, downloads)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert len(requests) >= 2 and all("range" in r for r in requests)
    assert {r["if-match"] for r in requests} == {f'"{item.version}"'}


def test_committed_leaves_a_replacement_alone(s3_server, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="results.csv", Body=b"monday")
    source = source_for(s3_server, bucket, post_action="move")
    item = listed(source, "results.csv")
    s3.put_object(Bucket=bucket, Key="results.csv", Body=b"tuesday")  # tonight's file
    with source:
        source.committed(item)
    assert keys_in(s3, bucket) == ["results.csv"]
    assert body_of(s3, bucket, "results.csv") == b"tuesday"


@pytest.mark.parametrize("post_action", ["copy", "move"])
def test_copy_without_a_processed_prefix_is_refused(s3_server, bucket, post_action):
    with pytest.raises(Exception, match="needs a processed_prefix"):
        source_for(s3_server, bucket, post_action=post_action, processed_prefix="")


def listing_error(source: S3Source) -> str:
    with pytest.raises(SourceError) as refused, source:
        source.ready_files()
    return str(refused.value)


def test_store_errors_become_source_errors_without_credentials(s3_server, monkeypatch):
    missing = listing_error(source_for(s3_server, "no-such-bucket"))
    assert "the bucket does not exist (NoSuchBucket, HTTP 404)" in missing
    assert "testing" not in missing  # neither the dummy key id nor the secret
    unknown_profile = listing_error(source_for(s3_server, "no-such-bucket", profile="vendor-x"))
    assert "profile is not configured" in unknown_profile
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert "no usable AWS credentials" in listing_error(source_for(s3_server, "no-such-bucket"))


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


# ---------------------------------------------------------------------------- blob store


def s3_store(server: S3Server, bucket: str) -> S3BlobStore:
    return S3BlobStore(
        bucket, "credx/blobs", endpoint_url=server.endpoint_url, region=REGION, part_size_mb=5
    )


@pytest.fixture(params=["local", "s3"])
def blob_store(request, tmp_path):
    """Every `BlobStore` implementation, for one contract."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server = request.getfixturevalue("s3_server")
    return s3_store(server, server.new_bucket())


KEY = store_key_for("ab" * 16)


def test_blob_store_round_trip(blob_store):
    assert not blob_store.exists(KEY)
    assert blob_store.write(KEY, [b"cipher", b"", b"text"]) == 10
    assert blob_store.exists(KEY)
    with blob_store.open(KEY) as stream:
        assert stream.read(6) == b"cipher" and stream.read() == b"text"
    blob_store.delete(KEY)
    assert not blob_store.exists(KEY)
    blob_store.delete(KEY)  # a missing key is not an error


def test_blob_store_large_blob_in_small_chunks(blob_store):
    payload = os.urandom(12 * MB)  # several parts for the S3 store
    chunks = (payload[i : i + 65536] for i in range(0, len(payload), 65536))
    assert blob_store.write(KEY, chunks) == len(payload)
    with blob_store.open(KEY) as stream:
        assert stream.read(len(payload) - 1) == payload[:-1] and stream.read() == payload[-1:]


def test_blob_store_missing_key_is_file_not_found(blob_store):
    with pytest.raises(FileNotFoundError):
        blob_store.open(KEY)


def test_blob_store_refuses_keys_it_did_not_make(blob_store):
    for key in ("../etc/passwd", "ab/cd/not-hex", ""):
        with pytest.raises(ValueError, match="invalid blob key"):
            blob_store.write(key, [b"x"])


def test_blob_store_failed_write_leaves_no_blob(blob_store):
    def failing():
        yield os.urandom(6 * MB)  # past the multipart threshold of the S3 store
        raise RuntimeError("encryption failed midway")

    with pytest.raises(RuntimeError, match="encryption failed midway"):
        blob_store.write(KEY, failing())
    assert not blob_store.exists(KEY)
    if isinstance(blob_store, S3BlobStore):  # no orphaned parts left to pay for
        uploads = blob_store._client.list_multipart_uploads(Bucket=blob_store.bucket)
        assert uploads.get("Uploads", []) == []


def test_vault_on_s3_round_trip_and_tamper_detection(app, session, s3_server, s3, bucket):
    store = s3_store(s3_server, bucket)
    vault = Vault(session, store, app.keyring)
    payload = b"candidate_id,first_name\n1,Jos\xc3\xa9\n" * 20_000
    blob = vault.put(payload[i : i + 4096] for i in range(0, len(payload), 4096))
    assert vault.read_bytes(blob.id) == payload
    object_key = f"credx/blobs/{blob.store_key}"
    stored = body_of(s3, bucket, object_key)
    assert payload[:64] not in stored
    tampered = bytearray(stored)
    tampered[len(tampered) // 2] ^= 0x80
    s3.put_object(Bucket=bucket, Key=object_key, Body=bytes(tampered))
    with pytest.raises(IntegrityFailure, match="altered"):
        vault.read_bytes(blob.id)


def test_s3_blob_store_errors_are_builtins(s3_server):
    """A missing bucket must not pass for a missing blob; an outage is a `ConnectionError`."""
    with pytest.raises(OSError, match="bucket does not exist") as missing_bucket:
        s3_store(s3_server, "no-such-bucket").open(KEY)
    assert not isinstance(missing_bucket.value, FileNotFoundError)
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = S3BlobStore("bucket", endpoint_url=f"http://127.0.0.1:{port}", region=REGION)
    with pytest.raises(ConnectionError, match=f"cannot reach the S3 endpoint 127.0.0.1:{port}"):
        unreachable.write(KEY, [b"x"])


def test_a_connector_pull_takes_each_object_version_once(app, s3_server, s3, bucket):
    """Through `credx connectors run`'s service: the ledger keys on name, size and ETag."""
    vendor = make_vendor(app)
    document = (
        f"name: nccer-s3\nvendor: {vendor}\nkind: s3\n"
        f"s3:\n  bucket: {bucket}\n  prefix: out/\n  endpoint_url: {s3_server.endpoint_url}\n"
        f"  region: {REGION}\n"
    )
    with session_scope(app.engine) as session:
        apply_connector(session, document, "nccer-s3.yaml", "test")
    s3.put_object(Bucket=bucket, Key="out/results.csv", Body=csv_text(exam_rows(3)))
    first = pull(app, "nccer-s3", actor="test")
    assert [(i.status, i.outcome["rows_loaded"]) for i in first.items] == [("pulled", 3)]
    assert [i.status for i in pull(app, "nccer-s3", actor="test").items] == ["already_pulled"]
    s3.put_object(Bucket=bucket, Key="out/results.csv", Body=csv_text(exam_rows(5, 11)))
    [again] = pull(app, "nccer-s3", actor="test").items
    assert again.status == "pulled" and again.outcome["rows_loaded"] == 5
    with app.engine.connect() as connection:
        sources = connection.execute(select(Delivery.source).order_by(Delivery.id)).scalars()
        assert list(sources) == ["s3:nccer-s3", "s3:nccer-s3"]
