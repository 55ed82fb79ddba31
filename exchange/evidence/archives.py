"""Bulk uploads: one zip of certificates plus a manifest CSV with a claim per line.

The archive is checked as a whole before anything is extracted (entry count,
declared sizes and compression ratios, names, symlinks, encryption), then
entries are extracted one at a time, streamed and counted, into private
temporary files named by credx: a name from the archive is only ever a key to
look the entry up, never a path.  Both run in the decoding sandbox when the
upload service gives one (`sandbox`).
"""

from __future__ import annotations

import csv
import io
import os
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exchange.evidence.refusals import EvidenceRefused

if TYPE_CHECKING:
    from exchange.evidence.sandbox import Sandbox

MAX_RATIO = 100  # a scan or PDF compresses little; a bomb compresses thousands of times
RATIO_CHECKED_FROM = 1 << 20  # small entries cannot do harm whatever their ratio
MANIFEST_LINE_BYTES = 4096
COPY_CHUNK = 1 << 20


def _archive_refused(message: str, code: str = "bad_archive") -> EvidenceRefused:
    return EvidenceRefused(message, code=code, field="archive")


def _manifest_refused(message: str) -> EvidenceRefused:
    return EvidenceRefused(message, code="bad_manifest", field="manifest")


@dataclass(frozen=True)
class ManifestLine:
    number: int  # data lines counted from 1, the header not counted
    file: str
    claim: dict[str, str] = field(repr=False)  # student data: never printed


def read_manifest(path: Path, max_lines: int) -> list[ManifestLine]:
    """The manifest's lines; the whole manifest is refused for a bad header or encoding."""
    if path.stat().st_size > max_lines * MANIFEST_LINE_BYTES:
        raise _manifest_refused(f"the manifest is too large for {max_lines} lines")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _manifest_refused(
            f'the manifest is not UTF-8 (byte {exc.start}): save it as "CSV UTF-8"'
        ) from None
    try:
        return _manifest_lines(text, max_lines)
    except csv.Error as exc:  # a NUL byte, an unterminated quote, a field over 128 KiB
        raise _manifest_refused(f"the manifest is not a readable CSV file ({exc})") from None


def _manifest_lines(text: str, max_lines: int) -> list[ManifestLine]:
    # Here, not at the top: the decoders' fork server imports this module for the zip
    # functions, and the claim's module would bring the database layer into every child.
    from exchange.evidence.claims import FIELDS

    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in ("file", *FIELDS) if name not in header]
    unknown = [name for name in header if name not in ("file", *FIELDS)]
    if missing or unknown:
        raise _manifest_refused(
            "the manifest's header must name the columns file, " + ", ".join(FIELDS)
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not known: {', '.join(n[:40] for n in unknown)}" if unknown else "")
        )  # fmt: skip
    reader.fieldnames = header
    lines = []
    for number, row in enumerate(reader, start=1):
        if number > max_lines:
            raise _manifest_refused(f"the manifest has more than {max_lines} lines")
        values = {key: (value or "").strip() for key, value in row.items() if key is not None}
        if any(len(value) > MANIFEST_LINE_BYTES for value in values.values()):
            # checked here, not left to csv's field limit: that limit is one per process,
            # and the vendor-file reader raises it (exchange.readers)
            raise _manifest_refused(
                f"the manifest is not a readable CSV file (line {number} holds a value longer "
                f"than {MANIFEST_LINE_BYTES} characters: is a double quote never closed?)"
            )
        lines.append(ManifestLine(number, values.pop("file"), values))
    if not lines:
        raise _manifest_refused("the manifest has a header but no lines")
    return lines


class BulkArchive:
    """A checked zip archive; `extract` streams one entry to a private temporary file.

    With a `sandbox`, zipfile reads the archive only in the sandbox's limited child
    processes (the central directory of a hostile zip is itself a decoder's input); the
    server keeps the entry names and the count of bytes extracted.
    """

    def __init__(self, path: Path, *, max_entries: int, max_total: int, max_file: int,
                 sandbox: Sandbox | None = None):  # fmt: skip
        self.path = path
        self.max_total = max_total
        self.max_file = max_file
        self.extracted = 0
        self.sandbox = sandbox
        with open(path, "rb") as handle:
            if handle.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
                raise _archive_refused("the bulk upload must be a .zip file")
        self.entries: dict[str, int] = self._run(survey, str(path), max_entries, max_total)

    def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(*args) if self.sandbox is None else self.sandbox.run(function, *args)

    def __enter__(self) -> BulkArchive:
        return self

    def __exit__(self, *_exc) -> None:
        pass

    def entry(self, name: str) -> str:
        if name not in self.entries:
            raise EvidenceRefused(
                "the manifest names a file the zip does not hold (names must match exactly, "
                "folders included)",
                code="missing_file",
                field="file",
            )
        return name

    def extract(self, name: str, directory: Path) -> Path:
        """The entry's bytes in a new 0600 file in `directory`, counted as they are written."""
        left = self.max_total - self.extracted
        target = Path(self._run(extract_entry, str(self.path), name, str(directory),
                                self.max_file, left))  # fmt: skip
        self.extracted += target.stat().st_size
        return target


def survey(path: str, max_entries: int, max_total: int) -> dict[str, int]:
    """Entry name -> declared size, after the whole central directory was checked."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _archive_refused("the zip file is damaged or incomplete") from None
    if len(infos) > max_entries:
        raise _archive_refused(
            f"the zip holds {len(infos)} entries, more than {max_entries}: split it",
            code="too_many_entries",
        )
    entries: dict[str, int] = {}
    for info in infos:
        _check_entry(info)
        if info.is_dir():
            continue
        if info.filename in entries:
            raise _archive_refused("the zip holds two entries with the same name")
        entries[info.filename] = info.file_size
    if sum(entries.values()) > max_total:
        raise _archive_refused(
            f"the zip's files add up to more than {max_total / (1 << 20):.0f} MB once "
            "extracted: split it",
            code="archive_too_large",
        )
    return entries


def extract_entry(path: str, name: str, directory: str, max_file: int, left: int) -> str:
    """Stream one entry into a new private file; refuse it past `max_file` or `left` bytes."""
    descriptor, created = tempfile.mkstemp(dir=directory, suffix=".part")
    target = Path(created)
    try:
        with os.fdopen(descriptor, "wb") as out, zipfile.ZipFile(path) as archive, \
                archive.open(archive.getinfo(name)) as source:  # fmt: skip
            while chunk := source.read(COPY_CHUNK):
                if out.tell() + len(chunk) > max_file:
                    raise _file_too_large(max_file)
                if out.tell() + len(chunk) > left:
                    raise _archive_refused("the zip expands to more than it declared")
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError, KeyError):  # fmt: skip
        target.unlink(missing_ok=True)
        raise EvidenceRefused(
            "this file in the zip is damaged (bad checksum or incomplete)", code="damaged_file"
        ) from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return str(target)


def _file_too_large(limit: int) -> EvidenceRefused:
    return EvidenceRefused(
        f"this file in the zip is larger than {limit / (1 << 20):.0f} MB", code="file_too_large"
    )


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise _archive_refused(
            "the zip holds an entry with an absolute path or '..' in its path: zip the "
            "certificates from their own folder",
            code="unsafe_path",
        )
    if any(ord(c) < 32 for c in name):
        raise _archive_refused("the zip holds an entry whose name has control characters")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _archive_refused("the zip holds a symbolic link: zip the files themselves", "symlink")
    if info.flag_bits & 0x1:
        raise _archive_refused("the zip is password-protected: zip the files without a password")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _archive_refused("the zip uses an unusual compression method: use plain zip")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_CHECKED_FROM and ratio > MAX_RATIO:
        raise _archive_refused(
            f"a file in the zip expands {ratio:.0f} times (a zip bomb?); certificates do not",
            code="zip_bomb",
        )
