"""Open Badges 3.0 evidence: verify a signed badge instead of looking at a picture.

When a district uploads a digital badge (Credly, CompTIA, ...) rather than a
scan, its issuer's signature can be checked: `looks_like_badge` routes the file,
`verify_badge` checks the proof (VC-JWT or DataIntegrityProof eddsa-jcs-2022)
against the issuer's published key, the issuer, subject, validity dates and
revocation status, and returns the facts or raises `BadgeRefused` with a reason
a district clerk can act on.
"""

from .model import BadgeRefused, BadgeVerification, RefusalReason
from .reading import looks_like_badge
from .verify import verify_badge

__all__ = [
    "BadgeRefused",
    "BadgeVerification",
    "RefusalReason",
    "looks_like_badge",
    "verify_badge",
]
