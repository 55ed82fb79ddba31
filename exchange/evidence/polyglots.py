"""Files that are also another file: refused, never re-encoded.

Trailing data after a format's end is refused by the structure walks (`structure`).  This
refuses what hides inside: an archive a ZIP reader opens (Python's `zipfile`, like `unzip`,
finds a ZIP by its end record wherever the carrier put it: a JPEG comment segment, a PNG
chunk, a PDF stream), PNG chunks private to some program (`structure.check_png`), and PDF
streams whose content is an archive (`pdfs`).  credx keeps the original byte for byte for
the auditors, so it refuses rather than re-encodes: the district uploads a clean scan.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from exchange.evidence.refusals import EvidenceRefused

ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")


def hidden_file(where: str) -> EvidenceRefused:
    return EvidenceRefused(
        f"the file carries another file hidden {where} (a disguised file): upload the "
        "certificate as saved by a scanner or an image program",
        code="polyglot",
    )


def check_no_archive(path: Path) -> None:
    """Refuse a file that a ZIP reader would open as an archive."""
    if zipfile.is_zipfile(path):
        raise hidden_file("inside it (a ZIP archive)")


def looks_like_archive(data: bytes) -> bool:
    """True when decoded bytes (a PDF stream, a chunk) are an archive."""
    return data.startswith(ARCHIVE_MAGIC) or b"PK\x05\x06" in data[-(1 << 16) - 22 :]
