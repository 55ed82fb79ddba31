"""Where vendor files come from: one `FileSource` interface; the local drop folder first.

SFTP and S3 sources implement the same interface.  A source lists files that
are ready (complete, not still being written), fetches one to a local path,
and is told when a file has been committed so it can clean up: the vendor's
copy is never touched before credx has committed its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from credx.errors import InvalidInput

PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".filepart", ".crdownload")


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    modified: float


class FileSource(Protocol):
    label: str

    def ready_files(self) -> list[RemoteFile]: ...

    def local_path(self, item: RemoteFile) -> Path:
        """A local path to read the file from (a download for remote sources)."""

    def committed(self, item: RemoteFile) -> None:
        """Called after the delivery is committed; performs the post-action."""


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
                ready.append(RemoteFile(path.name, info.st_size, info.st_mtime))
        return ready

    def local_path(self, item: RemoteFile) -> Path:
        path = self.directory / item.name
        if path.parent != self.directory:  # names come from listdir, but never trust a name
            raise InvalidInput(f"refusing file name {item.name!r}")
        return path

    def committed(self, item: RemoteFile) -> None:
        self.local_path(item).unlink(missing_ok=True)
