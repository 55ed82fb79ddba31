"""Signed certificates of destruction: what was destroyed, when, by whom, and how.

When an agreement's retention ends, credx destroys its data and hands the
state (and the vendor) a certificate they can check without trusting credx's
database: the canonical JSON of the certificate (sorted keys, no spaces,
UTF-8) is signed with Ed25519, and the file carries the certificate, the
signature and the raw public key.  Anyone holding the published public key
(`credx agreements signing-key`) can re-implement the check:

    key = Ed25519PublicKey.from_public_bytes(b64decode(doc["public_key"]))
    key.verify(b64decode(doc["signature"]), canonical_json(doc["certificate"]))

The signing key is a PKCS#8 PEM file beside the master keys (mode 0600),
created on first need and never overwritten: certificates issued under it must
stay verifiable for as long as anyone keeps them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from credx.errors import CredxError, IntegrityFailure, InvalidInput

SIGNING_KEY_FILE = "signing-ed25519.pem"
KIND = "credx/certificate-of-destruction/v1"
METHOD = "crypto-shredding: AES-256-GCM data keys destroyed; ciphertext deleted"
DOCUMENT_FIELDS = {"certificate", "signature", "public_key"}


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

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def canonical_json(value: Any) -> bytes:
    """The signed bytes: sorted keys, no spaces, UTF-8; no fallback for unknown types."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


# keys -------------------------------------------------------------------------------------
def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """A signing key's id: SHA-256 of its raw 32-byte public key, in hex."""
    return hashlib.sha256(public_key).hexdigest()


def public_key_pem(key: Ed25519PrivateKey) -> str:
    """The public half as SubjectPublicKeyInfo PEM, for the state to publish."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def signing_key_path(directory: Path) -> Path:
    return directory / SIGNING_KEY_FILE


def load_signing_key(directory: Path) -> Ed25519PrivateKey | None:
    """The installation's signing key, or None if none was made yet.

    Refuses a file others can read, as `KeyRing.get` does for master keys: a
    leaked signing key lets anyone forge certificates of destruction.
    """
    path = signing_key_path(directory)
    if not path.is_file():
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredxError(
            f"signing key file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise CredxError(f"signing key file {path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CredxError(f"signing key file {path} does not hold an Ed25519 key")
    return key


def ensure_signing_key(directory: Path) -> Ed25519PrivateKey:
    """Load the signing key, creating it (mode 0600) on first need; never overwrites one.

    The file is written under a temporary name and hard-linked into place, so
    two processes racing here end up sharing one complete key.
    """
    existing = load_signing_key(directory)
    if existing is not None:
        return existing
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temp = directory / f".{SIGNING_KEY_FILE}.{secrets.token_hex(8)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, signing_key_path(directory))
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        temp.unlink(missing_ok=True)
    key = load_signing_key(directory)
    assert key is not None
    return key


def parse_public_key(data: bytes) -> bytes:
    """A published key as raw 32 bytes, from SubjectPublicKeyInfo PEM or base64 of the raw key."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError:
            raise InvalidInput("the public key file is not a readable PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidInput("the public key file does not hold an Ed25519 public key")
        return public_bytes(key)
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(
            "the public key must be a PEM public key or the base64 of a raw 32-byte Ed25519 key"
        )
    return raw


# signing and verifying ----------------------------------------------------------------------
@dataclass(frozen=True)
class SignedCertificate:
    certificate: Certificate
    signature: bytes
    public_key: bytes

    def document(self) -> dict[str, Any]:
        return {
            "certificate": self.certificate.as_json(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
        }

    @property
    def sha256(self) -> str:
        """Digest of the signed bytes; the event log records it to bind log and certificate."""
        return hashlib.sha256(canonical_json(self.certificate.as_json())).hexdigest()


def sign_certificate(certificate: Certificate, key: Ed25519PrivateKey) -> SignedCertificate:
    public = public_bytes(key.public_key())
    if certificate.signing_key_id != key_id(public):
        raise ValueError("certificate names a different signing key than the one signing it")
    signature = key.sign(canonical_json(certificate.as_json()))
    return SignedCertificate(certificate, signature, public)


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
    is not content and may change.  There is deliberately no "trust the
    embedded key" mode: anyone can sign a forged certificate with a key of
    their own.
    """
    document = _read_document(path)
    public = _decode(document["public_key"], 32, "public key")
    if not hmac.compare_digest(public, trusted_public_key):
        raise IntegrityFailure(
            f"{path.name} is signed by key {key_id(public)}, not by the trusted key "
            f"{key_id(trusted_public_key)}"
        )
    signature = _decode(document["signature"], 64, "signature")
    try:
        signed = canonical_json(document["certificate"])
        Ed25519PublicKey.from_public_bytes(public).verify(signature, signed)
    except (InvalidSignature, TypeError, ValueError):
        raise IntegrityFailure(
            f"{path.name}: the signature does not match the certificate (it was altered "
            "after signing)"
        ) from None
    try:
        certificate = Certificate.model_validate_json(signed)  # JSON mode: arrays are tuples
    except ValidationError as exc:
        raise IntegrityFailure(f"{path.name}: signed, but not a valid certificate: {exc}") from None
    if certificate.signing_key_id != key_id(public):
        raise IntegrityFailure(f"{path.name}: the certificate names another signing key")
    return certificate


def _read_document(path: Path) -> dict[str, Any]:
    not_ours = IntegrityFailure(f"{path.name} is not a credx certificate of destruction")
    try:
        document = strict_json_loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise not_ours from None
    if not isinstance(document, dict) or set(document) != DOCUMENT_FIELDS:
        raise not_ours
    if not isinstance(document["certificate"], dict):
        raise not_ours
    return document


def strict_json_loads(text: str) -> Any:
    """JSON for signed documents: refuses repeated keys and NaN/Infinity (ValueError)."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # a repeated key would let a reader see one value while the signature covers another
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(value: Any, length: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except binascii.Error:
        raw = b""
    if len(raw) != length:
        raise IntegrityFailure(f"the certificate's {what} is damaged (not {length} bytes base64)")
    return raw
