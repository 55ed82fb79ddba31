"""Signed certificates of destruction: what was destroyed, when, by whom, and how.

When an agreement's retention ends, credx destroys its data and hands the
state (and the vendor) a certificate they can check without trusting credx's
database: the canonical JSON of the certificate (sorted keys, no spaces,
UTF-8) is signed with Ed25519, and the file carries the certificate, the
signature and the raw public key.  Anyone holding the published public key
 can re-implement the check:

    key = Ed25519PublicKey.from_public_bytes(b64decode(doc["public_key"]))
    key.verify(b64decode(doc["signature"]), canonical_json(doc["certificate"]))

Keys, canonical bytes and the document envelope are the kernel's
(`kernel.signing`, `kernel.canonical`): the same as for log checkpoints.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field

from kernel.signing import (
    SignedDocument,
    key_id,
    public_bytes,
    sign_document,
    verify_signed_file,
)

KIND: Final = "credx/certificate-of-destruction/v1"
KIND_NAME = "certificate of destruction"
METHOD = "crypto-shredding: AES-256-GCM data keys destroyed; ciphertext deleted"


# the certificate ---------------------------------------------------------------------------
class _Strict(BaseModel):
    # strict: a verified certificate is exactly what was signed, never a coerced look-alike
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DestroyedFile(_Strict):
    """A delivered file whose encrypted original was crypto-shredded."""

    delivery_id: int
    original_name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    blob_id: str
    copies: tuple[DestroyedCopy, ...] = ()  # absent from certificates signed before issue 16


class DestroyedCopy(_Strict):
    """Another delivery of the same bytes (quarantined, rejected whole, a duplicate),
    destroyed with the file it copies."""

    delivery_id: int
    blob_id: str
    status: str


class RetainedFile(_Strict):
    """A file that carried this agreement's rows but whose original must stay (another
    agreement still covers it); only this agreement's rows were deleted from it."""

    delivery_id: int
    original_name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    reason: str


class Certificate(_Strict):
    """What a certificate of destruction states; signed as a whole, field by field."""

    kind: Literal["credx/certificate-of-destruction/v1"] = KIND
    certificate_id: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )
    agreement_id: str
    agreement_version: int
    vendor: str
    states: tuple[str, ...]
    reason: str
    destroyed_at: str  # UTC ISO 8601; a string so the signed bytes are exactly what is shown
    destroyed_by: str
    rows_destroyed: int = Field(ge=0)
    rejected_rows_destroyed: int = Field(ge=0)
    files: tuple[DestroyedFile, ...]
    files_retained: tuple[RetainedFile, ...] = ()
    method: str = METHOD
    signing_key_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    # checked, not claimed: after destruction no blob with a listed file's SHA-256 still had
    # a data key and no row of the agreement was left (None: signed before the check existed)
    readable_copies_remaining: int | None = None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# signing and verifying ----------------------------------------------------------------------
@dataclass(frozen=True)
class SignedCertificate:
    certificate: Certificate
    signature: bytes
    public_key: bytes

    def signed(self) -> SignedDocument:
        return SignedDocument("certificate", self.certificate.as_json(), self.signature,
                              self.public_key)  # fmt: skip

    def document(self) -> dict[str, Any]:
        return self.signed().document()

    @property
    def sha256(self) -> str:
        """Digest of the signed bytes; the event log records it to bind log and certificate."""
        return self.signed().sha256


def sign_certificate(certificate: Certificate, key: Ed25519PrivateKey) -> SignedCertificate:
    public = public_bytes(key.public_key())
    if certificate.signing_key_id != key_id(public):
        raise ValueError("certificate names a different signing key than the one signing it")
    signed = sign_document("certificate", certificate.as_json(), key)
    return SignedCertificate(certificate, signed.signature, signed.public_key)


def write_certificate(signed: SignedCertificate, directory: Path) -> Path:
    """Write `destruction-<agreement>-<date>-<id8>.json` (mode 0600); never overwrites."""
    cert = signed.certificate
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", cert.agreement_id)
    name = f"destruction-{safe_id}-{cert.destroyed_at[:10]}-{cert.certificate_id[:8]}.json"
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(signed.document(), handle, indent=2, sort_keys=True, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


def verify_certificate(path: Path, trusted_public_key: bytes) -> Certificate:
    """Check a certificate file against the key its issuer published.

    Raises `IntegrityFailure` naming the problem when anything in the
    certificate, the signature or the embedded key differs from what was
    signed, or when the file was signed by any key other than
    `trusted_public_key` (raw 32 bytes).  Formatting (indentation, key order)
    is not content and may change.
    """
    return verify_signed_file(
        path, Certificate, body_field="certificate", kind=KIND_NAME,
        trusted_public_key=trusted_public_key,
    )  # fmt: skip
