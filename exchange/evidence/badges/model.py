"""What a verified badge tells credx, and the one error for a refused badge."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from kernel.errors import InvalidInput


class RefusalReason(StrEnum):
    """Why a badge was refused, as a stable tag the upload can store and filter on."""

    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    NOT_A_BADGE = "not_a_badge"
    UNSUPPORTED_PROOF = "unsupported_proof"
    UNTRUSTED_ISSUER = "untrusted_issuer"
    KEY_UNAVAILABLE = "key_unavailable"
    UNKNOWN_KEY = "unknown_key"
    ISSUER_MISMATCH = "issuer_mismatch"
    BAD_SIGNATURE = "bad_signature"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    STATUS_UNAVAILABLE = "status_unavailable"


class BadgeRefused(InvalidInput):
    """The badge could not be verified; `str()` tells a district clerk what to do.

    `code` is `badge_` and the reason (`badge_revoked`), the tag an upload
    refused for it carries; every reason is a 422 on the file.
    """

    field = "file"

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = f"badge_{reason}"


@dataclass(frozen=True)
class BadgeVerification:
    """The facts of a badge whose proof, dates and status all checked out.

    Subject fields are student data: store them with the evidence, never log them.
    `issuer_trusted` is False for a `did:key` issuer not listed in
    `CREDX_BADGE_TRUSTED_ISSUERS`: its signature proves the file is intact, not who
    the issuer is (anyone can make a did:key), so the issuer name is self-asserted.
    """

    credential_id: str | None
    issuer_id: str
    issuer_name: str | None
    issuer_trusted: bool
    subject_id: str | None
    subject_identifiers: tuple[str, ...]
    subject_name: str | None
    achievement_id: str | None
    achievement_name: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    proof_type: str
    key_id: str
    status_checked: bool

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (ISO dates, lists) for an evidence record or an API answer."""
        data = asdict(self)
        data["subject_identifiers"] = list(self.subject_identifiers)
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value else None
        return data
