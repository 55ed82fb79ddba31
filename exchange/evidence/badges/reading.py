"""Reading a badge file: its size cap, its two shapes (JSON credential or compact JWS), a sniff."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

from .model import BadgeRefused, RefusalReason
from .proofs import malformed

_JWS = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_SNIFF_BYTES = 2 << 20
_BADGE_TYPES = (b'"OpenBadgeCredential"', b'"AchievementCredential"')
_VC_CONTEXTS = (b"www.w3.org/ns/credentials/v2", b"www.w3.org/2018/credentials/v1")
_ENVELOPE_PREFIX = "data:application/vc+jwt,"
_PNG = b"\x89PNG\r\n\x1a\n"
_BAKED_KEYWORD = b"openbadgecredential\0"  # OB 3.0 section 5.3: baking a PNG


def read_badge(path: Path, max_bytes: int) -> str | dict[str, Any]:
    """The badge as a compact JWS string or a JSON object; refuses oversized or unreadable files."""
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadgeRefused(
            RefusalReason.TOO_LARGE,
            f"The badge file is larger than {max_bytes} bytes, more than any real badge needs. "
            "Check you chose the badge file (JSON or JWT) and not an archive or a video.",
        )
    if data.startswith(_PNG):
        data = baked_credential(data, max_bytes) or b""
        if not data:
            raise BadgeRefused(
                RefusalReason.NOT_A_BADGE,
                "The PNG image carries no Open Badges credential. Upload the badge file "
                "(JSON or JWT) downloaded from the issuer, or the certificate as an image.",
            )
    text = data.removeprefix(b"\xef\xbb\xbf").strip()
    if _JWS.fullmatch(text):
        return text.decode("ascii")
    if not text.startswith(b"{"):
        raise malformed("it is neither JSON nor a JWT")
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise malformed("its JSON does not parse") from exc
    if not isinstance(document, dict):
        raise malformed("its JSON is not an object")
    return _unwrap_envelope(document)


def baked_credential(png: bytes, max_bytes: int) -> bytes | None:
    """The credential baked into a PNG's `iTXt` chunk `openbadgecredential`, if any.

    Walks the chunk list only (no image decoding); a compressed text is inflated to at
    most `max_bytes`.
    """
    pos = len(_PNG)
    while pos + 12 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"iTXt" and body.startswith(_BAKED_KEYWORD):
            return _itxt_text(body[len(_BAKED_KEYWORD) :], max_bytes)
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


def _itxt_text(rest: bytes, max_bytes: int) -> bytes | None:
    """iTXt after the keyword: compression flag and method, language, translated keyword, text."""
    if len(rest) < 2:
        return None
    compressed, rest = rest[0], rest[2:]
    text = rest.split(b"\0", 2)[-1] if rest.count(b"\0") >= 2 else None
    if text is None or not compressed:
        return text
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(text, max_bytes + 1)
    except zlib.error:
        return None
    return text if len(text) <= max_bytes else None


def _unwrap_envelope(document: dict[str, Any]) -> str | dict[str, Any]:
    """A VC 2.0 `EnvelopedVerifiableCredential` carries its VC-JWT in a data: URL."""
    types = document.get("type")
    kinds = types if isinstance(types, list) else [types]
    identifier = document.get("id")
    if "EnvelopedVerifiableCredential" in kinds and isinstance(identifier, str):
        token = identifier.removeprefix(_ENVELOPE_PREFIX)
        if token != identifier and _JWS.fullmatch(token.encode("ascii", "replace")):
            return token
        raise malformed("its envelope holds no VC-JWT")
    return document


def looks_like_badge(path: Path) -> bool:
    """Cheap sniff for routing an upload: an OB 3.0 JSON credential, a VC-JWT, or a PNG
    with a credential baked in (an `openbadgecredential` iTXt chunk).

    Reads at most 2 MiB and parses nothing but a JWT header and payload or the PNG chunk
    list; `verify_badge` decides.  Other images and PDFs never match.  A baked PNG is
    still an image: the upload may also treat it as one (preview, image checks).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES).removeprefix(b"\xef\xbb\xbf").strip()
    except OSError:
        return False
    if head.startswith(_PNG):
        return baked_credential(head, _SNIFF_BYTES) is not None
    if head.startswith(b"{"):
        badge = any(t in head for t in _BADGE_TYPES) and any(c in head for c in _VC_CONTEXTS)
        envelope = b'"EnvelopedVerifiableCredential"' in head and _ENVELOPE_PREFIX.encode() in head
        return badge or envelope
    return bool(_JWS.fullmatch(head)) and _jwt_says_vc(head.decode("ascii"))


def _jwt_says_vc(token: str) -> bool:
    header, payload = (_b64json(part) for part in token.split(".")[:2])
    if header is None or payload is None:
        return False
    if str(header.get("typ", "")).lower() in ("vc+jwt", "vc-ld+jwt", "vc+ld+jwt"):
        return True
    if isinstance(payload.get("vc"), dict):
        return True
    kinds = payload.get("type")
    return "VerifiableCredential" in (kinds if isinstance(kinds, list) else [kinds])


def _b64json(part: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
