"""Where vendor files come from: one `FileSource` interface for drop folders, SFTP and S3.

A source is used as a context manager (connect on enter, always disconnect on
exit).  It lists files that are ready (complete, not still being written),
fetches one to a local file it has verified (size, and a checksum when the
vendor provides one; a partial download raises and is never handed over), and
is told when a file has been committed so it can perform its post-action: the
vendor's copy is never moved or deleted before credx has committed its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kernel.errors import CredxError, InvalidInput

PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".filepart", ".crdownload")


@dataclass(frozen=True)
class RemoteFile:
    """A file as the source lists it.  `name` is relative to the source's root and,
    with `size` and `version` (mtime or ETag), identifies one delivery of it."""

    name: str
    size: int
    modified: float
    version: str = ""  # ETag for S3, mtime for SFTP and folders
    sha256: str | None = None  # from the vendor's checksum sidecar, when there is one


class FileSource(Protocol):
    label: str

    def __enter__(self) -> FileSource: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def ready_files(self) -> list[RemoteFile]: ...

    def fetch(self, item: RemoteFile, directory: Path) -> Path:
        """A verified local copy of `item` (in `directory`, or the file itself for a local
        folder).  Raises `SourceError` if it cannot be fetched whole."""

    def committed(self, item: RemoteFile) -> None:
        """Called after the delivery is committed; performs the post-action."""


class SourceError(CredxError):
    """A source could not be reached or a file not fetched whole; nothing was ingested."""

    code = "source_unavailable"
    http_status = 503


class SourceRefused(SourceError):
    """We refused the source, or it refused us: a host key not pinned, our key not accepted,
    a file not matching its checksum.  Logged as a refusal with its reason."""

    code = "source_refused"
    http_status = 502


class LocalDropFolder:
    """A directory a vendor (or an operator) drops files into.

    A file is ready when it is a regular file (not a link), not hidden, not
    named like a partial upload, and unchanged for `settle_seconds`.  After
    commit the plaintext is deleted: the encrypted original in the blob store
    is the record, and plaintext student data must not linger on disk.
    """

    def __init__(self, directory: Path, settle_seconds: float = 5.0):
        if not directory.is_dir():
            raise InvalidInput(f"drop folder {directory} does not exist")
        self.directory = directory
        self.settle_seconds = settle_seconds
        self.label = f"drop:{directory}"

    def ready_files(self) -> list[RemoteFile]:
        now = time.time()
        ready = []
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") or path.name.endswith(PARTIAL_SUFFIXES):
                continue
            if path.is_symlink() or not path.is_file():
                continue
            info = path.stat()
            if now - info.st_mtime >= self.settle_seconds:
                ready.append(
                    RemoteFile(path.name, info.st_size, info.st_mtime, str(info.st_mtime_ns))
                )
        return ready

    def __enter__(self) -> LocalDropFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def fetch(self, item: RemoteFile, directory: Path | None = None) -> Path:
        """The file itself: it is already local."""
        return self._path(item)

    def _path(self, item: RemoteFile) -> Path:
        path = self.directory / item.name
        if path.parent != self.directory:  # names come from listdir, but never trust a name
            raise InvalidInput(f"refusing file name {item.name!r}")
        return path

    def committed(self, item: RemoteFile) -> None:
        self._path(item).unlink(missing_ok=True)
