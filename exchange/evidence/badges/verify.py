"""`verify_badge`: proof, issuer, subject, validity dates and revocation, in that order."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kernel.clock import utcnow
from kernel.settings import Settings

from .fetch import TrustedFetcher
from .model import BadgeRefused, BadgeVerification, RefusalReason
from .proofs import Proven, issuer_id, malformed, verify_embedded, verify_jwt
from .reading import read_badge
from .status import check_status

log = logging.getLogger("credx.badges")

BADGE_TYPES = ("OpenBadgeCredential", "AchievementCredential")
VC_CONTEXTS = ("https://www.w3.org/ns/credentials/v2", "https://www.w3.org/2018/credentials/v1")
CLOCK_SKEW = timedelta(minutes=5)  # issuers' and credx's clocks differ a little


def verify_badge(
    path: Path, settings: Settings, *, now: datetime | None = None
) -> BadgeVerification:
    """Verify an Open Badges 3.0 credential file; raise `BadgeRefused` with the reason.

    Network access happens only for issuers in `CREDX_BADGE_TRUSTED_ISSUERS`
    (their key document and status list); a `did:key` badge is checked offline.
    """
    fetcher = TrustedFetcher(settings)
    try:
        badge = read_badge(path, settings.badge_max_bytes)
        if isinstance(badge, str):
            proven = verify_jwt(badge, fetcher, settings.badge_max_bytes)
        else:
            proven = _verify_document(badge, fetcher)
        result = _check(proven, fetcher, settings, now or utcnow())
    except RecursionError as exc:  # absurdly deep JSON, in the badge or a fetched document
        refusal = malformed("its JSON is nested too deeply")
        log.info("badge refused: %s", refusal.reason)
        raise refusal from exc
    except BadgeRefused as refusal:
        log.info("badge refused: %s", refusal.reason)
        raise
    log.info("badge verified: issuer %s, key %s", result.issuer_id, result.key_id)
    return result


def _verify_document(document: dict[str, Any], fetcher: TrustedFetcher) -> Proven:
    if "proof" not in document:
        raise BadgeRefused(
            RefusalReason.UNSUPPORTED_PROOF,
            "The badge carries no signature (no proof), so nothing ties it to its issuer. "
            "Download the signed badge file from the issuer, or upload a certificate image.",
        )
    return verify_embedded(document, fetcher)


def _check(
    proven: Proven, fetcher: TrustedFetcher, settings: Settings, now: datetime
) -> BadgeVerification:
    credential = proven.credential
    _check_type(credential)
    issuer = _check_issuer(proven)
    subject = _check_subject(proven)
    valid_from, valid_until = _check_dates(proven, now)
    checked = check_status(credential, fetcher, settings.badge_max_bytes)
    achievement = _first_dict(subject.get("achievement"))
    issuer_doc = credential.get("issuer")
    return BadgeVerification(
        credential_id=_text(credential.get("id")),
        issuer_id=issuer,
        issuer_name=_text(issuer_doc.get("name")) if isinstance(issuer_doc, dict) else None,
        issuer_trusted=proven.key.fetched or fetcher.trusts_did(issuer),
        subject_id=_text(subject.get("id")),
        subject_identifiers=_identifiers(subject.get("identifier")),
        subject_name=_text(subject.get("name")),
        achievement_id=_text(achievement.get("id")),
        achievement_name=_text(achievement.get("name")),
        valid_from=valid_from,
        valid_until=valid_until,
        proof_type=proven.proof_type,
        key_id=proven.key.key_id,
        status_checked=checked,
    )


def _check_type(credential: dict[str, Any]) -> None:
    kinds = credential.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first not in VC_CONTEXTS or not any(kind in kinds for kind in BADGE_TYPES):
        raise BadgeRefused(
            RefusalReason.NOT_A_BADGE,
            "The file is a signed credential but not an Open Badge (type OpenBadgeCredential). "
            "Upload the student's badge file or a certificate image.",
        )


def _check_issuer(proven: Proven) -> str:
    issuer = issuer_id(proven.credential)
    claimed = proven.claims.get("iss")
    if proven.key.controller != issuer or (claimed is not None and claimed != issuer):
        raise BadgeRefused(
            RefusalReason.ISSUER_MISMATCH,
            f"The badge says it was issued by {issuer}, but it was signed with a key belonging "
            f"to {proven.key.controller}. It cannot count as evidence; upload a certificate "
            "image or the badge file downloaded from the real issuer.",
        )
    return issuer


def _check_subject(proven: Proven) -> dict[str, Any]:
    subject = _first_dict(proven.credential.get("credentialSubject"))
    if not subject:
        raise malformed("it names no recipient (credentialSubject)")
    sub = proven.claims.get("sub")
    if sub is not None and subject.get("id") is not None and sub != subject.get("id"):
        raise malformed("its JWT subject and credential subject differ")
    return subject


def _check_dates(proven: Proven, now: datetime) -> tuple[datetime | None, datetime | None]:
    credential, claims = proven.credential, proven.claims
    starts = [_instant(credential.get(k), k) for k in ("validFrom", "issuanceDate")]
    ends = [_instant(credential.get(k), k) for k in ("validUntil", "expirationDate")]
    starts.append(_epoch(claims.get("nbf"), "nbf"))
    ends.append(_epoch(claims.get("exp"), "exp"))
    start = max((s for s in starts if s), default=None)
    end = min((e for e in ends if e), default=None)
    if start and start > now + CLOCK_SKEW:
        raise BadgeRefused(
            RefusalReason.NOT_YET_VALID,
            f"The badge is not valid until {start:%Y-%m-%d %H:%M} UTC. Upload it again after "
            "that date, or upload a certificate image now.",
        )
    if end and end <= now - CLOCK_SKEW:
        raise BadgeRefused(
            RefusalReason.EXPIRED,
            f"The badge expired on {end:%Y-%m-%d} (UTC). Ask the student for the renewed "
            "credential, or upload evidence the credential was current when earned.",
        )
    return start, end


def _instant(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise malformed(f"its {name} {value!r} is not a date and time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _epoch(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise malformed(f"its JWT {name} is not a number of seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise malformed(f"its JWT {name} is out of range") from exc


def _identifiers(value: Any) -> tuple[str, ...]:
    """OB 3.0 IdentityObjects as `type:hash` strings, exactly as the issuer wrote them."""
    items = value if isinstance(value, list) else [value] if value else []
    found = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("identityHash"), str):
            kind = item.get("identityType")
            found.append(f"{kind}:{item['identityHash']}" if kind else item["identityHash"])
    return tuple(found)


def _first_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
