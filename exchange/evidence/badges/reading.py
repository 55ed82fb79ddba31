"""Reading a badge file: its size cap, its two shapes (JSON credential or compact JWS), a sniff."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from .model import BadgeRefused, RefusalReason
from .proofs import malformed

_JWS = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_SNIFF_BYTES = 2 << 20
_BADGE_TYPES = (b'"OpenBadgeCredential"', b'"AchievementCredential"')
_VC_CONTEXTS = (b"www.w3.org/ns/credentials/v2", b"www.w3.org/2018/credentials/v1")
_ENVELOPE_PREFIX = "data:application/vc+jwt,"


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
    """Cheap sniff for routing an upload: an OB 3.0 JSON credential or a VC-JWT.

    Reads at most 2 MiB and parses nothing but a JWT header and payload; `verify_badge`
    decides.  Images and PDFs never match (they start with binary magic bytes).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES).removeprefix(b"\xef\xbb\xbf").strip()
    except OSError:
        return False
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
