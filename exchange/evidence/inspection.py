"""Deciding what an uploaded file is, and refusing everything that is not a clean certificate.

Order matters, cheapest first: size, then type by magic bytes (the name's
extension must agree), then, in a limited child process (`sandbox`), the format's
structure walked end to end (`structure`, `pdfs`) and a full decode with Pillow or
PDFium (`decoding`).  The decode also yields the preview, so a file is decoded once.
Digital badges (JSON or JWT) are recognised here and verified by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath

from exchange.evidence.badges import looks_like_badge
from exchange.evidence.decoding import DecodeLimits, decode
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.sandbox import SandboxLimits, sandbox_for
from exchange.evidence.structure import PNG_SIGNATURE
from kernel.settings import Settings


class Kind(Enum):
    """(media type, Pillow format, extensions the name may have)."""

    PNG = ("image/png", "PNG", (".png",))
    JPEG = ("image/jpeg", "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif"))
    PDF = ("application/pdf", None, (".pdf",))
    BADGE_JSON = ("application/json", None, (".json", ".jsonld"))
    BADGE_JWT = ("application/jwt", None, (".jwt", ".jws", ".txt"))

    @property
    def media_type(self) -> str:
        return self.value[0]

    @property
    def extension(self) -> str:
        return self.value[2][0]

    @property
    def is_badge(self) -> bool:
        return self in (Kind.BADGE_JSON, Kind.BADGE_JWT)


ALLOWED_NAMES = ", ".join(ext for kind in Kind for ext in kind.value[2][:2])
LOOKALIKES = (
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (Word, Excel and OpenDocument files are ZIPs too)"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"RIFF", "a WebP image or other RIFF file"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"<", "an HTML, SVG or XML document"),
)


DEFAULT_SANDBOX = SandboxLimits(512 << 20, 20, 30.0, workers=2, queue=32)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_pdf_pages: int
    max_pdf_inflated: int = 32 << 20
    sandbox: SandboxLimits = DEFAULT_SANDBOX

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.upload_max_bytes,
            settings.upload_max_pixels,
            settings.upload_max_pdf_pages,
            settings.upload_pdf_max_inflated_mb << 20,
            SandboxLimits.from_settings(settings),
        )


@dataclass(frozen=True)
class Inspection:
    kind: Kind
    size: int
    preview: bytes | None  # None for JSON/JWT badges: they are verified, not looked at
    baked_badge: bool = False  # a PNG carrying an Open Badges credential (iTXt chunk)

    @property
    def is_badge(self) -> bool:
        return self.kind.is_badge or self.baked_badge


def inspect_upload(path: Path, filename: str | None, limits: Limits) -> Inspection:
    """What the file is and its preview; `EvidenceRefused` for anything unacceptable."""
    size = path.stat().st_size
    if size == 0:
        raise EvidenceRefused(
            "the file is empty: choose the scanned certificate", code="empty_file"
        )
    if size > limits.max_bytes:
        raise too_large(limits.max_bytes)
    with open(path, "rb") as handle:
        head = handle.read(1024)
    kind = sniff(path, head)
    check_name(filename, kind)
    if kind.is_badge:
        return Inspection(kind, size, None)
    preview = _decode(path, kind, limits)
    return Inspection(kind, size, preview, kind is Kind.PNG and looks_like_badge(path))


def too_large(limit: int) -> EvidenceRefused:
    return EvidenceRefused(
        f"the file is larger than {limit / (1 << 20):.0f} MB: scan at 300 dpi or save a smaller "
        "copy",
        code="file_too_large",
    )


def sniff(path: Path, head: bytes) -> Kind:
    """The kind the first bytes announce; strict offsets (a PDF starts `%PDF-` at byte 0)."""
    if head.startswith(PNG_SIGNATURE):
        return Kind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(b"%PDF-"):
        return Kind.PDF
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if looks_like_badge(path):
        return Kind.BADGE_JSON if text.startswith(b"{") else Kind.BADGE_JWT
    seen = next((what for magic, what in LOOKALIKES if text.startswith(magic)), None)
    raise EvidenceRefused(
        f"the file is {seen or 'not a PDF, PNG or JPEG'}: credx accepts PDF, PNG and JPEG "
        "certificates and Open Badges (JSON or JWT)"
        + ("" if seen is None else "; save or export it as PDF, PNG or JPEG"),
        code="unsupported_type",
    )


def check_name(filename: str | None, kind: Kind) -> None:
    """The name's extension, if it has one, must be one of the kind's: a lie is refused."""
    if not filename:
        return
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if not suffix or suffix in kind.value[2]:
        return
    raise EvidenceRefused(
        f"the file's name ends {suffix[:12]!r} but its content is "
        f"{kind.media_type}: credx accepts {ALLOWED_NAMES} files whose name matches "
        "their content",
        code="extension_mismatch",
    )


def _decode(path: Path, kind: Kind, limits: Limits) -> bytes:
    """The preview, decoded in the sandbox: the server never holds what the file inflates to."""
    wanted = DecodeLimits(limits.max_pixels, limits.max_pdf_pages, limits.max_pdf_inflated)
    return sandbox_for(limits.sandbox).run(decode, str(path), kind.name, wanted)
