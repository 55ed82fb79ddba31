"""Walking a file's structure before any decoder sees it: PNG chunks, JPEG segments, PDF objects.

Decoders are lenient (they stop at the end of the image and ignore the rest),
which is how polyglots work: a PNG with a ZIP or an HTML page after its last
chunk still "opens".  These walks read the whole file once, in small buffers,
and refuse anything after the format's own end, any damaged chunk or segment,
and images whose header announces more pixels than we will ever decode.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from exchange.evidence.refusals import EvidenceRefused

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CRITICAL = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
BUFFER = 1 << 16


def damaged(what: str) -> EvidenceRefused:
    return EvidenceRefused(
        f"the {what} is damaged or incomplete (was the upload cut off?): export or scan it "
        "again and upload the new file",
        code="damaged_file",
    )


def trailing_data(what: str) -> EvidenceRefused:
    return EvidenceRefused(
        f"the file carries other data after the end of the {what} (a disguised file): upload "
        "the certificate as saved by a scanner or an image program",
        code="polyglot",
    )


def private_chunk() -> EvidenceRefused:
    return EvidenceRefused(
        "the PNG image carries a private data chunk that is not part of the picture (a "
        "disguised file?): save the certificate again with an image program, or scan it",
        code="polyglot",
    )


def empty_image() -> EvidenceRefused:
    return EvidenceRefused(
        "the image has no pixels (0 wide or 0 high): scan the certificate again", code="empty_image"
    )


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise empty_image()
    if width * height > max_pixels:
        raise EvidenceRefused(
            f"the image is {width} x {height} pixels, more than the {max_pixels:,} credx "
            "decodes: scan at 300 dpi or reduce the image size",
            code="image_too_large",
        )


def check_png(path: Path, max_pixels: int) -> tuple[int, int]:
    """Every chunk present, CRC-checked, IHDR first, nothing after IEND; returns the size."""
    with open(path, "rb") as handle:
        if handle.read(8) != PNG_SIGNATURE:
            raise damaged("PNG image")
        size: tuple[int, int] | None = None
        while True:
            kind, data = _png_chunk(handle, keep=size is None)
            if size is None:
                if kind != b"IHDR" or len(data) != 13:
                    raise damaged("PNG image")
                size = struct.unpack(">II", data[:8])
                check_pixels(*size, max_pixels)
            elif kind == b"IEND":
                if handle.read(1):
                    raise trailing_data("PNG image")
                return size
            elif kind[0:1].isupper() and kind not in PNG_CRITICAL:
                raise damaged("PNG image")
            elif kind[1:2].islower():  # a private chunk: no viewer draws it, a payload may hide
                raise private_chunk()


def _png_chunk(handle: BinaryIO, keep: bool) -> tuple[bytes, bytes]:
    header = handle.read(8)
    if len(header) < 8:
        raise damaged("PNG image")
    length, kind = struct.unpack(">I4s", header)
    if length > 0x7FFFFFFF or not kind.isalpha():
        raise damaged("PNG image")
    crc = zlib.crc32(kind)
    kept = b""
    remaining = length
    while remaining:
        piece = handle.read(min(remaining, BUFFER))
        if not piece:
            raise damaged("PNG image")
        crc = zlib.crc32(piece, crc)
        if keep:
            kept += piece
        remaining -= len(piece)
    stored = handle.read(4)
    if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc & 0xFFFFFFFF:
        raise damaged("PNG image")
    return kind, kept


class _Scanner:
    """Buffered reading of a JPEG: exact reads, skips, and marker search in entropy data."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.buffer = b""
        self.pos = 0

    def _fill(self) -> None:
        more = self.handle.read(BUFFER)
        if not more:
            raise damaged("JPEG image")
        self.buffer = self.buffer[self.pos :] + more
        self.pos = 0

    def take(self, count: int) -> bytes:
        while len(self.buffer) - self.pos < count:
            self._fill()
        out = self.buffer[self.pos : self.pos + count]
        self.pos += count
        return out

    def skip(self, count: int) -> None:
        while count:
            if self.pos >= len(self.buffer):
                self._fill()
            step = min(count, len(self.buffer) - self.pos)
            self.pos += step
            count -= step

    def next_marker_in_scan(self) -> int:
        """The first marker after entropy-coded data (stuffed 00 and RSTn belong to it)."""
        while True:
            found = self.buffer.find(b"\xff", self.pos)
            if found < 0 or found + 1 >= len(self.buffer):
                self.pos = len(self.buffer) if found < 0 else found
                self._fill()
                continue
            following = self.buffer[found + 1]
            if following == 0xFF:
                self.pos = found + 1
            elif following == 0x00 or 0xD0 <= following <= 0xD7:
                self.pos = found + 2
            else:
                self.pos = found + 2
                return following

    def rest_is_padding(self) -> bool:
        rest = self.buffer[self.pos :]
        while True:
            if rest.strip(b"\x00"):
                return False
            rest = self.handle.read(BUFFER)
            if not rest:
                return True


def check_jpeg(path: Path, max_pixels: int) -> tuple[int, int]:
    """Segments well formed, a frame header within the pixel limit, nothing after EOI."""
    with open(path, "rb") as handle:
        scan = _Scanner(handle)
        if scan.take(2) != b"\xff\xd8":
            raise damaged("JPEG image")
        size: tuple[int, int] | None = None
        marker = _marker(scan)
        while marker != 0xD9:
            if 0xD0 <= marker <= 0xD7 or marker == 0x01:
                marker = _marker(scan)
                continue
            (length,) = struct.unpack(">H", scan.take(2))
            if length < 2:
                raise damaged("JPEG image")
            if marker in JPEG_SOF:
                if length < 7:
                    raise damaged("JPEG image")
                height, width = struct.unpack(">xHH", scan.take(5))
                check_pixels(width, height, max_pixels)
                size = (width, height)
                scan.skip(length - 7)
            else:
                scan.skip(length - 2)
            marker = scan.next_marker_in_scan() if marker == 0xDA else _marker(scan)
        if size is None:
            raise damaged("JPEG image")
        if not scan.rest_is_padding():
            raise trailing_data("JPEG image")
        return size


def _marker(scan: _Scanner) -> int:
    if scan.take(1) != b"\xff":
        raise damaged("JPEG image")
    marker = scan.take(1)[0]
    while marker == 0xFF:  # fill bytes
        marker = scan.take(1)[0]
    return marker


def check_pdf_end(path: Path) -> None:
    """A PDF ends with `%%EOF` (and perhaps line ends); anything else is appended data."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 2048))
        tail = handle.read()
    end = tail.rfind(b"%%EOF")
    if end < 0:
        raise damaged("PDF document")
    if tail[end + 5 :].strip(b"\r\n\t \x00"):
        raise trailing_data("PDF document")
