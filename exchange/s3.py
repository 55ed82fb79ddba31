"""S3 (and any S3-compatible store) for both seams: vendor pulls and the blob store.

`S3Source` pulls a vendor's nightly files from its bucket.  An S3 object
appears whole or not at all, so there is no "still being written" wait; what
can happen is that the vendor replaces an object between our listing and our
download (same key, next night's file).  Every request for an object is
therefore made conditional on the ETag we listed (`If-Match`), so a replaced
object is refused instead of being ingested under the wrong listing, and the
post-action only ever copies and deletes the version that was ingested.

`S3BlobStore` keeps credx's encrypted blobs in a bucket (`CREDX_BLOB_URL=
s3://bucket/prefix`).  It only ever sees ciphertext.

Credentials never come from configuration documents: boto3's standard chain
(environment, shared files, SSO, instance or task role) or a named profile.
Error messages are built from error codes only, never from what the server
or botocore says, so they cannot echo request signatures or keys.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, NoReturn
from urllib.parse import urlparse

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from s3transfer.exceptions import RetriesExceededError as TransferRetriesExceeded
from s3transfer.exceptions import S3CopyFailedError, S3DownloadFailedError, S3UploadFailedError

from exchange.connectors import S3Settings
from exchange.sources import PARTIAL_SUFFIXES, RemoteFile, SourceError
from exchange.storage import STORE_KEY
from kernel.errors import InvalidInput

MB = 1 << 20
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
HASH_CHUNK = MB
LOCAL_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

MISSING = frozenset({"NoSuchKey", "NotFound", "404"})
DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
REPLACED = frozenset({"PreconditionFailed", "412"})
# What an operator should be told, by S3 error code.  The server's own message
# is never shown: it is not needed, and for signature errors it echoes request details.
EXPLAINED = {
    **dict.fromkeys(MISSING, "the object does not exist (any more)"),
    **dict.fromkeys(DENIED, "access denied: check the IAM policy of the credentials in use"),
    **dict.fromkeys(REPLACED, "the object was replaced after it was listed"),
    "NoSuchBucket": "the bucket does not exist",
    "InvalidAccessKeyId": "the access key is not known to this store",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "ExpiredToken": "the session credentials have expired",
    "RequestTimeTooSkewed": "this machine's clock is too far from the store's",
    "InvalidObjectState": "the object is archived (Glacier) and must be restored first",
    "SlowDown": "the store is throttling requests; try again later",
    "PermanentRedirect": "the bucket is in another region: set the connector's region",
    "AuthorizationHeaderMalformed": "the region does not match the bucket's: set the region",
}
# s3transfer raises these (not ClientError) when a ranged GET or a part copy fails
# its ETag precondition, and when its own retries of a streaming read run out.
TRANSFER_REPLACED = (S3DownloadFailedError, S3CopyFailedError)
S3_ERRORS = (
    ClientError, BotoCoreError, Boto3Error, *TRANSFER_REPLACED, TransferRetriesExceeded,
    S3UploadFailedError,
)  # fmt: skip
NO_CREDENTIALS = NoCredentialsError | PartialCredentialsError


def s3_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> BaseClient:
    """An S3 client with standard retries and bounded timeouts.

    Credentials are resolved by boto3 (named `profile`, else the standard chain);
    `endpoint_url` points at any S3-compatible store.  Raises `ProfileNotFound`
    for an unknown profile.
    """
    session = boto3.session.Session(profile_name=profile, region_name=region)
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra="credx",
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) or "unknown"


def explain(exc: Exception, endpoint: str) -> str:
    """What went wrong, for an operator, from error codes and types only."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return f"{EXPLAINED.get(code, 'the store refused the request')} ({code}, HTTP {status})"
    if isinstance(exc, TRANSFER_REPLACED):
        return EXPLAINED["PreconditionFailed"]
    if isinstance(exc, NO_CREDENTIALS):
        return (
            "no usable AWS credentials: provide them through the standard chain "
            "(environment, ~/.aws, SSO, instance or task role) or name a profile"
        )
    if isinstance(exc, ProfileNotFound):
        return "the named AWS profile is not configured on this machine"
    if isinstance(exc, BotoConnectionError):
        return f"cannot reach the S3 endpoint {endpoint} ({type(exc).__name__})"
    return f"the S3 client failed ({type(exc).__name__}); try again later"


def builtin_error(exc: Exception) -> type[OSError]:
    """The builtin a storage caller can handle, for an S3 error."""
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    if code in MISSING:
        return FileNotFoundError
    if code in DENIED or isinstance(exc, NO_CREDENTIALS | ProfileNotFound):
        return PermissionError
    return ConnectionError if isinstance(exc, BotoConnectionError) else OSError


def _endpoint_label(endpoint_url: str | None) -> str:
    """Host and port only: an endpoint URL could carry user info, which must not be shown."""
    if not endpoint_url:
        return "AWS"
    parsed = urlparse(endpoint_url)
    return f"{parsed.hostname}:{parsed.port}" if parsed.port else str(parsed.hostname)


def quoted(etag: str) -> str:
    """An ETag as `If-Match` wants it: some stores (and moto) refuse an unquoted one."""
    return f'"{etag}"'


# ---------------------------------------------------------------------------- vendor pulls


class S3Source:
    """A vendor's bucket (or a prefix of it) as a `FileSource`.

    Ready: every object under `prefix` except "directory" markers (keys ending
    in `/`), objects under `processed_prefix` and partial-upload names.
    `RemoteFile.name` is the key and `version` its ETag, which pins the
    download and the post-action to exactly the listed object.
    """

    def __init__(
        self,
        settings: S3Settings,
        *,
        label: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ):
        if settings.post_action in ("copy", "move") and not settings.processed_prefix:
            # copying a key onto itself (and then deleting it) would destroy the vendor's file
            raise InvalidInput(
                f"an S3 connector with post_action: {settings.post_action} needs a processed_prefix"
            )
        self.settings = settings
        self.label = label or f"s3://{settings.bucket}/{settings.prefix}"
        self._timeouts = (connect_timeout, read_timeout)
        self._client: BaseClient | None = None
        self._transfer = TransferConfig(
            multipart_threshold=settings.multipart_threshold_mb * MB,
            multipart_chunksize=max(8 * MB, settings.multipart_threshold_mb * MB // 4),
            max_concurrency=4,
            # the classic manager honours our If-Match hook; the CRT one bypasses botocore events
            preferred_transfer_client="classic",
        )

    def __enter__(self) -> S3Source:
        with self._translated("connect to"):
            self._client = s3_client(
                endpoint_url=self.settings.endpoint_url,
                region=self.settings.region,
                profile=self.settings.profile,
                connect_timeout=self._timeouts[0],
                read_timeout=self._timeouts[1],
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> BaseClient:
        if self._client is None:
            raise RuntimeError("S3Source is used inside `with source:` only")
        return self._client

    def ready_files(self) -> list[RemoteFile]:
        """Every ready object, following the listing over as many pages as there are."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.settings.bucket, Prefix=self.settings.prefix
        )
        with self._translated("list"):  # pages are fetched while iterating
            return [
                _remote_file(entry)
                for page in pages
                for entry in page.get("Contents", [])
                if self._is_ready(entry["Key"])
            ]

    def _is_ready(self, key: str) -> bool:
        processed = self.settings.processed_prefix
        return not (
            key.endswith("/")
            or (processed and key.startswith(processed))
            or key.endswith(PARTIAL_SUFFIXES)
        )

    def fetch(self, item: RemoteFile, directory: Path) -> Path:
        """Download `item` into `directory`, verified: same ETag as listed on every request,
        same size as listed, and the same SHA-256 as the vendor's when one is known (a
        sidecar, or a full-object SHA-256 checksum stored with the object).  Any failure
        raises `SourceError` and leaves no file behind."""
        target = Path(tempfile.mkdtemp(prefix="s3-", dir=directory)) / _local_name(item.name)
        partial = target.with_name(target.name + ".partial")
        try:
            with self._translated("download", item.name), self._pinned(item):
                expected_sha256 = self._checked_head(item)
                with open(partial, "wb") as handle:
                    self.client.download_fileobj(
                        self.settings.bucket, item.name, handle, Config=self._transfer
                    )
            self._verify(partial, item, expected_sha256)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            target.parent.rmdir()
            raise
        return target

    def _checked_head(self, item: RemoteFile) -> str | None:
        """Refuse early if the object changed; the vendor's SHA-256, if S3 holds one."""
        head = self.client.head_object(
            Bucket=self.settings.bucket, Key=item.name, ChecksumMode="ENABLED"
        )
        if head["ContentLength"] != item.size:
            self._refuse(item.name, f"its size is now {head['ContentLength']}, not {item.size}")
        return item.sha256 or _full_object_sha256(head)

    def _verify(self, path: Path, item: RemoteFile, expected_sha256: str | None) -> None:
        """Size as listed, and SHA-256 as the vendor's when known.  An ETag is no content
        hash (multipart and KMS-encrypted objects), so content is checked by SHA-256 only;
        the vault hashes the same file again for the delivery record."""
        sha256, size = sha256_and_size(path)
        if size != item.size:
            self._refuse(item.name, f"{size} bytes arrived, the listing said {item.size}")
        if expected_sha256 and sha256 != expected_sha256.lower():
            self._refuse(item.name, "its SHA-256 does not match the vendor's checksum")

    @contextmanager
    def _pinned(self, item: RemoteFile) -> Iterator[None]:
        """Make every HEAD and GET of `item`, including the managed transfer's ranged GETs,
        conditional on the listed ETag.  boto3's transfer manager does not accept `IfMatch`
        as an extra argument and only pins ranged GETs to the ETag of its own HEAD; adding
        the condition at parameter-build time closes the gap between listing and download
        without a check-then-act race."""
        if not item.version:  # a store without ETags: the size check is all there is
            yield
            return
        bucket, condition = self.settings.bucket, quoted(item.version)

        def add_condition(params: dict[str, Any], **_: Any) -> None:
            if params.get("Bucket") == bucket and params.get("Key") == item.name:
                params["IfMatch"] = condition

        events = self.client.meta.events
        names = [f"before-parameter-build.s3.{op}" for op in ("HeadObject", "GetObject")]
        for name in names:
            events.register(name, add_condition, unique_id=f"credx-pin:{name}")
        try:
            yield
        finally:
            for name in names:
                events.unregister(name, unique_id=f"credx-pin:{name}")

    def committed(self, item: RemoteFile) -> None:
        """The post-action, named for what it does to the vendor's object:

        `leave` nothing; `copy` copies it to `processed_prefix + key` and leaves it;
        `move` copies it there, then deletes it; `delete` deletes it.  Every step is
        conditional on the listed ETag: if the vendor has since put a new file under
        the same key, that file is a new delivery and is left alone (the next sweep
        picks it up).
        """
        action = self.settings.post_action
        if action == "leave":
            return
        condition = quoted(item.version) if item.version else None
        with self._translated(f"{action} after ingest", item.name):
            try:
                if action in ("copy", "move"):
                    self._copy_to_processed(item, condition)
                if action in ("move", "delete"):
                    self.client.delete_object(
                        Bucket=self.settings.bucket, Key=item.name,
                        **({"IfMatch": condition} if condition else {}),
                    )  # fmt: skip
            except TRANSFER_REPLACED:
                return
            except ClientError as exc:
                if error_code(exc) not in REPLACED:
                    raise

    def _copy_to_processed(self, item: RemoteFile, condition: str | None) -> None:
        self.client.copy(
            {"Bucket": self.settings.bucket, "Key": item.name},
            self.settings.bucket,
            self.settings.processed_prefix + item.name,
            ExtraArgs={"CopySourceIfMatch": condition} if condition else None,
            Config=self._transfer,
        )

    def _where(self, key: str = "") -> str:
        return f"s3://{self.settings.bucket}/{key or self.settings.prefix}"

    def _refuse(self, key: str, why: str) -> NoReturn:
        raise SourceError(f"refused {self._where(key)}: {why}; nothing was ingested")

    @contextmanager
    def _translated(self, action: str, key: str = "") -> Iterator[None]:
        """S3 errors as `SourceError`, with a message an operator can act on."""
        try:
            yield
        except S3_ERRORS as exc:
            endpoint = _endpoint_label(self.settings.endpoint_url)
            raise SourceError(
                f"could not {action} {self._where(key)}: {explain(exc, endpoint)}"
            ) from None


def _remote_file(entry: dict[str, Any]) -> RemoteFile:
    return RemoteFile(
        name=entry["Key"],
        size=int(entry["Size"]),
        modified=entry["LastModified"].timestamp(),
        version=str(entry.get("ETag", "")).strip('"'),
    )


def _local_name(key: str) -> str:
    """The key's last segment, made safe for a local file name (the key itself is kept
    as the delivery's original name)."""
    name = LOCAL_NAME_UNSAFE.sub("_", PurePosixPath(key).name).lstrip(".")
    return name or "object"


def _full_object_sha256(head: dict[str, Any]) -> str | None:
    """The object's stored SHA-256 as hex, if it is of the whole object.  A multipart
    upload's checksum is usually a checksum of part checksums ("...-N"): not comparable."""
    value = head.get("ChecksumSHA256")
    if not value or "-" in value or head.get("ChecksumType") == "COMPOSITE":
        return None
    return base64.b64decode(value).hex()


def sha256_and_size(path: Path) -> tuple[str, int]:
    """credx's own SHA-256 of what is on disk, read back in one streaming pass (parts of
    a ranged download arrive out of order, so hashing while writing is not possible)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# ---------------------------------------------------------------------------- blob store


class S3BlobStore:
    """Encrypted blobs as objects under `s3://bucket/prefix`.

    A PUT, single or multipart, becomes visible only when complete, so writes
    are atomic; a failed multipart upload is aborted so no parts linger (and
    cost).  Errors come out as builtins: `FileNotFoundError`, `PermissionError`,
    `ConnectionError`, else `OSError`.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        part_size_mb: int = 8,
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._endpoint = _endpoint_label(endpoint_url)
        with self._translated("connect to", ""):
            self._client = s3_client(endpoint_url=endpoint_url, region=region, profile=profile)
        self._transfer = TransferConfig(
            multipart_threshold=part_size_mb * MB,
            multipart_chunksize=part_size_mb * MB,
            max_concurrency=4,
            preferred_transfer_client="classic",
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3BlobStore:
        """From `s3://bucket/prefix`; `options` are the keyword arguments of the constructor."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        return cls(parsed.netloc, parsed.path, **options)

    def _object_key(self, key: str) -> str:
        if not STORE_KEY.fullmatch(key):  # keys are ours; anything else is a bug or an attack
            raise ValueError(f"invalid blob key {key!r}")
        return self.prefix + key

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        reader = _ChunkReader(chunks)
        with self._translated("write", key):
            self._client.upload_fileobj(
                io.BufferedReader(reader, buffer_size=MB),
                self.bucket,
                self._object_key(key),
                ExtraArgs={"ContentType": "application/octet-stream"},
                Config=self._transfer,
            )
        return reader.consumed

    def open(self, key: str) -> BinaryIO:
        with self._translated("open", key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        raw = _BodyReader(response["Body"], lambda: self._translated("read", key))
        return io.BufferedReader(raw, buffer_size=MB)

    def delete(self, key: str) -> None:
        with self._translated("delete", key):  # S3 answers 204 for a missing key too
            self._client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def exists(self, key: str) -> bool:
        try:
            with self._translated("look up", key):
                self._client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except FileNotFoundError:
            return False
        return True

    @contextmanager
    def _translated(self, action: str, key: str) -> Iterator[None]:
        """S3 errors as builtins, so callers never depend on botocore's exceptions."""
        try:
            yield
        except S3_ERRORS as exc:
            where = f"s3://{self.bucket}/{self.prefix}{key}"
            message = f"cannot {action} {where}: {explain(exc, self._endpoint)}"
            raise builtin_error(exc)(message) from None


class _ChunkReader(io.RawIOBase):
    """An iterable of byte chunks as a non-seekable file, for the managed upload,
    counting what it hands out."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.consumed += size
        return size


class _BodyReader(io.RawIOBase):
    """A GetObject body as a raw stream whose read errors come out as builtins.

    Wrapped in `io.BufferedReader`, `read(n)` returns exactly `n` bytes before the
    end, which the blob format's fixed-size segment reads rely on.
    """

    def __init__(self, body: Any, translated: Callable[[], Any]):
        self._body = body
        self._translated = translated

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._translated():
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
