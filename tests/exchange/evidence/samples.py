"""Evidence test data made on the spot: certificates, hostile files, zips, claims, callers."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from access.principals import Principal, Role

DISTRICT = Principal("tok-la036", Role.DISTRICT, state="LA", district="036")
OTHER_DISTRICT = Principal("tok-la017", Role.DISTRICT, state="LA", district="017")
AUDITOR = Principal("tok-la-aud", Role.AUDITOR, state="LA")
TN_AUDITOR = Principal("tok-tn-aud", Role.AUDITOR, state="TN")
TN_DISTRICT = Principal("tok-tn001", Role.DISTRICT, state="TN", district="001")
OPERATOR = Principal("tok-la-op", Role.OPERATOR, state="LA")


def claim(number: int = 1, **changes: str) -> dict[str, str]:
    """A valid claim, as a form sends it (strings); keyword arguments replace fields."""
    fields = {
        "state_student_id": f"LA{1000000 + number}",
        "student_name": "José O'Brien-Nguyễn",
        "birth_date": "2008-03-14",
        "school_code": "036001",
        "school_year": "2025-26",
        "graduation_pathway": "Jump Start TOPS Tech",
        "credential_code": "ADESK002",
        "date_earned": "2025-11-03",
    }
    return {**fields, **changes}


def certificate(size: tuple[int, int] = (1200, 900), seed: int = 0) -> Image.Image:
    """A certificate-like picture; `seed` changes its pixels (and so its sha256)."""
    image = Image.new("RGB", size, (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(20, 40, 120), width=8)
    draw.text((size[0] // 3, size[1] // 2), f"Certificate of Achievement {seed}", fill=(0, 0, 0))
    return image


def png_bytes(seed: int = 0, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A PNG carrying text metadata (which a preview must not)."""
    info = PngInfo()
    info.add_text("Author", "Scanner Operator Jane Doe")
    buffer = io.BytesIO()
    certificate(size, seed).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def jpeg_bytes(seed: int = 0, orientation: int | None = None) -> bytes:
    """A JPEG with EXIF (camera, GPS-like text) and an ICC profile, as phones write them."""
    image = certificate(seed=seed)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera App 1.0"  # Software
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, icc_profile=b"fake-icc-profile" * 4)
    return buffer.getvalue()


def pdf_bytes(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    certificate(seed=seed).save(buffer, "PDF", resolution=150)
    return buffer.getvalue()


def pdf_with(change) -> bytes:
    """A real PDF certificate after `change(writer)` (add JavaScript, an attachment, ...)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def add_document_javascript(writer: PdfWriter) -> None:
    """Document-level JavaScript (the /Names /JavaScript tree), run when the PDF opens."""
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")}
    )
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(script)])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


def add_open_action(writer: PdfWriter) -> None:
    """An action dictionary run on opening (here a URI: even a harmless kind is refused)."""
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("x")}
    )
    writer._root_object[NameObject("/OpenAction")] = action


def pdf_pages(count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG declaring `width` x `height` with a tiny IDAT: never allocated here."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )  # fmt: skip


def zip_bytes(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def zip_with_symlink(target: str = "/etc/passwd") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("certificate.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, target)
    return buffer.getvalue()


def zip_bomb(megabytes: int = 40) -> bytes:
    """One entry of zeros, written in chunks (never held whole): ~1000x compression."""
    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)
    with archive, archive.open("certificate.png", "w") as entry:
        block = b"\x00" * (1 << 20)
        for _ in range(megabytes):
            entry.write(block)
    return buffer.getvalue()


def manifest(lines: list[tuple[str, dict[str, str]]]) -> str:
    columns = ["file", *claim()]
    rows = [",".join(columns)]
    for name, fields in lines:
        rows.append(",".join([name, *(fields[c] for c in columns[1:])]))
    return "\n".join(rows) + "\n"


def write(directory: Path, name: str, data: bytes | str) -> Path:
    path = directory / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path
