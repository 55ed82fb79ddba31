"""Revocation and suspension: the issuer's published status of one credential.

Two methods are read: W3C Bitstring Status List (`BitstringStatusListEntry`, and
its predecessor `StatusList2021Entry`) and the Open Badges `1EdTechRevocationList`.
A status the badge declares but credx cannot read (host not trusted, down, an
unknown method) refuses the badge: a revoked credential must not pass because
the list was unreachable.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from .fetch import FetchError, TrustedFetcher
from .model import BadgeRefused, RefusalReason
from .proofs import Proven, issuer_id, verify_embedded, verify_jwt

_BITSTRING = ("BitstringStatusListEntry", "StatusList2021Entry")
_REVOCATION_LIST = "1EdTechRevocationList"
_MAX_BITS_BYTES = 16 << 20  # decompressed list cap: 134 million credentials
_CHECKED_PURPOSES = ("revocation", "suspension")


class StatusUnavailable(Exception):
    """The status could not be read; the message says why, for the clerk's message."""


def check_status(credential: dict[str, Any], fetcher: TrustedFetcher, max_bytes: int) -> bool:
    """Refuses a revoked or suspended badge; True when a published status was read."""
    entries = credential.get("credentialStatus")
    if entries is None:
        return False
    checked = False
    for entry in entries if isinstance(entries, list) else [entries]:
        try:
            checked |= _check_entry(entry, credential, fetcher, max_bytes)
        except (StatusUnavailable, FetchError) as exc:
            raise BadgeRefused(
                RefusalReason.STATUS_UNAVAILABLE,
                f"The badge's revocation status could not be checked: {exc}. Try again later; "
                "if it keeps failing, upload a certificate image instead.",
            ) from exc
    return checked


def _check_entry(entry: Any, credential: dict, fetcher: TrustedFetcher, max_bytes: int) -> bool:
    kind = entry.get("type") if isinstance(entry, dict) else None
    if kind in _BITSTRING:
        return _check_bitstring(entry, credential, fetcher, max_bytes)
    if kind == _REVOCATION_LIST:
        return _check_revocation_list(entry, credential, fetcher)
    raise StatusUnavailable(f"the status method {kind!r} is not one credx can read")


def _check_bitstring(entry: dict, credential: dict, fetcher: TrustedFetcher, max_bytes: int):
    purpose = entry.get("statusPurpose")
    if purpose not in _CHECKED_PURPOSES:
        return False  # e.g. "message": says nothing about validity
    url = entry.get("statusListCredential")
    try:
        index = int(entry.get("statusListIndex"))  # type: ignore[arg-type]  # None: TypeError
    except (TypeError, ValueError) as exc:
        raise StatusUnavailable("its status list index is not a number") from exc
    if not isinstance(url, str) or index < 0:
        raise StatusUnavailable("its status entry names no status list")
    status_list = _signed_list(url, credential, fetcher, max_bytes)
    subject = status_list.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("statusPurpose", purpose) != purpose:
        raise StatusUnavailable(f"the status list at {url} is not a {purpose} list")
    if subject.get("statusSize", 1) != 1:
        raise StatusUnavailable(f"the status list at {url} uses multi-bit entries")
    if _bit(_bits(subject.get("encodedList"), url), index, url):
        raise _revoked(purpose, credential)
    return True


def _signed_list(url: str, credential: dict, fetcher: TrustedFetcher, max_bytes: int) -> dict:
    """The status list credential at `url`, its proof checked, from the badge's own issuer."""
    if not fetcher.trusts_url(url):
        raise StatusUnavailable(f"its status list at {url} is not on the trusted issuer list")
    body = fetcher.get(url).strip()
    try:
        if body.startswith(b"{"):
            document = json.loads(body)
            proven: Proven = verify_embedded(document, fetcher)
        else:
            proven = verify_jwt(body.decode("ascii"), fetcher, max_bytes)
    except BadgeRefused as exc:
        raise StatusUnavailable(f"the status list at {url} failed its own check ({exc})") from exc
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError) as exc:
        raise StatusUnavailable(f"the status list at {url} is not a credential") from exc
    if issuer_id(proven.credential) != issuer_id(credential):
        raise StatusUnavailable(f"the status list at {url} was issued by someone else")
    return proven.credential


def _bits(encoded: Any, url: str) -> bytes:
    """GZIP bitstring, multibase base64url (`u`...) or plain base64url (StatusList2021)."""
    if not isinstance(encoded, str) or not encoded:
        raise StatusUnavailable(f"the status list at {url} has no encodedList")
    text = encoded[1:] if encoded.startswith("u") else encoded
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj(wbits=31)
        bits = inflater.decompress(packed, _MAX_BITS_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise StatusUnavailable(f"the status list at {url} cannot be decoded") from exc
    if len(bits) > _MAX_BITS_BYTES:
        raise StatusUnavailable(f"the status list at {url} is implausibly large")
    return bits


def _bit(bits: bytes, index: int, url: str) -> bool:
    """Bit `index`, counting from the most significant bit of the first byte."""
    if index >= len(bits) * 8:
        raise StatusUnavailable(f"the status list at {url} is shorter than the badge's index")
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


def _check_revocation_list(entry: dict, credential: dict, fetcher: TrustedFetcher) -> bool:
    url = entry.get("id")
    if not isinstance(url, str) or not fetcher.trusts_url(url):
        raise StatusUnavailable(f"its revocation list {url!r} is not on the trusted issuer list")
    try:
        document = json.loads(fetcher.get(url))
        revoked = {item.get("id") for item in document.get("revokedCredentials", [])}
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError, RecursionError) as exc:
        raise StatusUnavailable(f"the revocation list at {url} is not readable") from exc
    if isinstance(credential.get("id"), str) and credential["id"] in revoked:
        raise _revoked("revocation", credential)
    return True


def _revoked(purpose: str, credential: dict) -> BadgeRefused:
    verb = "revoked" if purpose == "revocation" else "suspended"
    return BadgeRefused(
        RefusalReason.REVOKED,
        f"The issuer ({issuer_id(credential)}) has {verb} this badge, so it no longer counts "
        "as evidence. If the student holds a current credential, upload that one.",
    )
