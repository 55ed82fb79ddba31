"""Envelope encryption for blobs: AES-256-GCM data keys wrapped by master keys.

A blob is written as a header followed by segments (the STREAM construction of
Hoang, Reyhanitabar, Rogaway and Vizár, as in Tink's streaming AEAD): each
segment is sealed with AES-256-GCM under the blob's own data key, with a nonce
made of a random prefix, the segment counter and a last-segment flag, and with
the header as associated data.  Any flipped, reordered, dropped or appended
byte fails authentication on read, and memory stays bounded by one segment.

Data keys are wrapped (AES-256-GCM, the blob id as associated data) by a master
key; rotating the master key re-wraps data keys and never touches blobs.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import stat
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kernel.errors import CredxError, IntegrityFailure

MAGIC = b"CRDXBLB1"
SEGMENT_SIZE = 1 << 20
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7
HEADER = struct.Struct(">8sI16s7s")  # magic, segment size, blob id, nonce prefix
KEY_ID = re.compile(r"^mk-(\d{6})-[0-9a-f]{8}$")


@dataclass(frozen=True)
class BlobHeader:
    segment_size: int
    blob_id: str
    nonce_prefix: bytes

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, self.segment_size, bytes.fromhex(self.blob_id), self.nonce_prefix)

    @classmethod
    def unpack(cls, raw: bytes) -> BlobHeader:
        if len(raw) != HEADER.size:
            raise IntegrityFailure("blob is truncated: header incomplete")
        magic, segment_size, blob_id, prefix = HEADER.unpack(raw)
        if magic != MAGIC or not 0 < segment_size <= 64 * SEGMENT_SIZE:
            raise IntegrityFailure("blob header is not a credx blob header")
        return cls(segment_size, blob_id.hex(), prefix)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encrypt_stream(
    data_key: bytes, blob_id: str, chunks: Iterable[bytes], segment_size: int = SEGMENT_SIZE
) -> Iterator[bytes]:
    """Yield the header and then sealed segments of the plaintext `chunks`."""
    header = BlobHeader(segment_size, blob_id, secrets.token_bytes(NONCE_PREFIX_SIZE))
    aad = header.pack()
    aead = AESGCM(data_key)
    yield aad
    buffer = bytearray()
    counter = 0
    for chunk in chunks:
        buffer.extend(chunk)
        while len(buffer) > segment_size:  # keep one segment back: it may be the last
            segment = bytes(buffer[:segment_size])
            del buffer[:segment_size]
            yield aead.encrypt(_nonce(header.nonce_prefix, counter, False), segment, aad)
            counter += 1
    yield aead.encrypt(_nonce(header.nonce_prefix, counter, True), bytes(buffer), aad)


def read_header(stream) -> BlobHeader:
    return BlobHeader.unpack(stream.read(HEADER.size))


def decrypt_stream(data_key: bytes, header: BlobHeader, stream) -> Iterator[bytes]:
    """Yield plaintext segments; raise `IntegrityFailure` on any alteration or truncation."""
    aad = header.pack()
    aead = AESGCM(data_key)
    sealed_size = header.segment_size + TAG_SIZE
    counter = 0
    current = stream.read(sealed_size)
    while True:
        following = stream.read(sealed_size)
        last = not following
        try:
            yield aead.decrypt(_nonce(header.nonce_prefix, counter, last), current, aad)
        except InvalidTag:
            raise IntegrityFailure(
                f"blob {header.blob_id} failed authentication at segment {counter}: "
                "it has been altered, truncated or damaged"
            ) from None
        if last:
            return
        current, counter = following, counter + 1


def wrap_key(master_key: bytes, blob_id: str, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, b"credx-dk:" + blob_id.encode())


def unwrap_key(master_key: bytes, blob_id: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master_key).decrypt(
            wrapped[:12], wrapped[12:], b"credx-dk:" + blob_id.encode()
        )
    except InvalidTag:
        raise IntegrityFailure(
            f"data key of blob {blob_id} does not unwrap under its master key "
            "(wrong key file, or the key record was altered)"
        ) from None


class KeyRing:
    """Master keys as files in one directory (0700), one key per file (0600).

    The newest key (ids carry a generation number, so they sort in creation
    order whatever the clock does) wraps new data keys; older keys
    stay to unwrap what they wrapped until a rotation re-wraps it.  Keys live
    apart from the database and blob store so a stolen backup of either is
    useless alone.
    """

    def __init__(self, directory: Path):
        self.directory = directory

    def key_ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("mk-*.key") if KEY_ID.match(p.stem))

    def active_id(self) -> str:
        ids = self.key_ids()
        if not ids:
            raise CredxError(
                f"no master key in {self.directory}: initialise the installation or restore "
                "the key files",
                hint="run `credx init`",
            )
        return ids[-1]

    def get(self, key_id: str) -> bytes:
        path = self.directory / f"{key_id}.key"
        if not KEY_ID.match(key_id) or not path.is_file():
            raise CredxError(f"master key {key_id} is missing from {self.directory}")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise CredxError(
                f"master key file {path} is readable by others (mode {mode:o}); "
                f"run `chmod 600 {path}`"
            )
        key = base64.b64decode(path.read_text().strip(), validate=True)
        if len(key) != 32:
            raise CredxError(f"master key file {path} does not hold a 256-bit key")
        return key

    def create(self) -> str:
        """Write a new master key; never overwrites an existing file."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        ids = self.key_ids()
        newest = KEY_ID.match(ids[-1]) if ids else None
        generation = int(newest.group(1)) + 1 if newest else 1
        key_id = f"mk-{generation:06d}-{secrets.token_hex(4)}"
        path = self.directory / f"{key_id}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(new_data_key()).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return key_id

    def ensure(self) -> tuple[str, bool]:
        """The active key id, creating the first key if there is none; (id, created)."""
        ids = self.key_ids()
        if ids:
            return ids[-1], False
        return self.create(), True
