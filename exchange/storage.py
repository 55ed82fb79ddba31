"""Where encrypted blobs live: one `BlobStore` interface; local here, S3 in `exchange.s3`.

Which one a process uses is the composition root's choice (`credx.app`).

Implementations translate their own errors into builtins (`FileNotFoundError`)
so callers never depend on a vendor SDK's exceptions.  The store only ever sees
ciphertext.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from kernel.errors import Unavailable

STORE_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}$")
# A full, read-only or failing disk: the operator's problem, not the caller's input.
OUT_OF_SERVICE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


class StorageUnavailable(Unavailable):
    """The blob store cannot take a file now (full, read-only, unreachable): nothing was
    kept, and the same request can be made again once the operator has fixed it."""


def out_of_service(exc: OSError) -> bool:
    """True for store failures a retry may cure; false for a bug or a caller's bad path."""
    return isinstance(exc, ConnectionError | TimeoutError) or exc.errno in OUT_OF_SERVICE


class BlobStore(Protocol):
    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store `chunks` under `key` atomically; return bytes written."""

    def open(self, key: str) -> BinaryIO:
        """Open for reading; `FileNotFoundError` if absent."""

    def delete(self, key: str) -> None:
        """Remove; a missing key is not an error."""

    def exists(self, key: str) -> bool: ...


def store_key_for(blob_id: str) -> str:
    return f"{blob_id[:2]}/{blob_id[2:4]}/{blob_id}"


class LocalBlobStore:
    """Blobs as files under a root directory, written via temp file, fsync and rename."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        if not STORE_KEY.fullmatch(key):  # keys are ours; anything else is a bug or an attack
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".tmp")
        written = 0
        try:
            with open(temp, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    written += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:  # a full disk must not keep a partial file (or its space)
            temp.unlink(missing_ok=True)
            raise
        return written

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()
