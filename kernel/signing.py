"""Ed25519 signing for documents that outside parties check without trusting credx.

The installation has one signing key, a PKCS#8 PEM file beside the master
keys (mode 0600), created on first need and never overwritten: what was signed
under it (certificates of destruction, log checkpoints) must stay verifiable
for as long as anyone keeps it.  A signed document is a JSON object holding
the signed body under one field, the base64 signature and the base64 raw
public key; the signature covers `kernel.canonical.canonical_json(body)`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ValidationError

from kernel.canonical import canonical_json, strict_json_loads
from kernel.errors import CredxError, IntegrityFailure, InvalidInput

SIGNING_KEY_FILE = "signing-ed25519.pem"


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
    leaked signing key lets anyone forge certificates and checkpoints.
    """
    path = signing_key_path(directory)
    if not path.is_file():
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredxError(
            f"signing key file {path} is readable by others (mode {mode:o}); "
            f"make it private to the credx user (chmod 600 {path})"
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
    linked = load_signing_key(directory)
    assert linked is not None
    return linked


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


# documents --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignedDocument:
    """A body, its signature and the raw public key that made it."""

    body_field: str  # "certificate", "checkpoint", ...
    body: dict[str, Any]
    signature: bytes
    public_key: bytes

    def document(self) -> dict[str, Any]:
        return {
            self.body_field: self.body,
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
        }

    @property
    def sha256(self) -> str:
        """Digest of the signed bytes; the event log records it to bind log and document."""
        return hashlib.sha256(canonical_json(self.body)).hexdigest()


def sign_document(body_field: str, body: dict[str, Any], key: Ed25519PrivateKey) -> SignedDocument:
    signature = key.sign(canonical_json(body))
    return SignedDocument(body_field, body, signature, public_bytes(key.public_key()))


def read_signed_document(text: str, body_field: str, *, name: str, kind: str) -> SignedDocument:
    """Parse a signed document's envelope (not yet its signature).

    Raises `IntegrityFailure` saying `name is not a credx <kind>` when the text
    is not exactly the three fields, or naming a damaged signature or key.
    """
    not_ours = IntegrityFailure(f"{name} is not a credx {kind}")
    try:
        document = strict_json_loads(text)
    except ValueError:
        raise not_ours from None
    expected = {body_field, "signature", "public_key"}
    if not isinstance(document, dict) or set(document) != expected:
        raise not_ours
    if not isinstance(document[body_field], dict):
        raise not_ours
    public = _decode(document["public_key"], 32, f"{name}: the {body_field}'s public key")
    signature = _decode(document["signature"], 64, f"{name}: the {body_field}'s signature")
    return SignedDocument(body_field, document[body_field], signature, public)


def verify_signature(
    signed: SignedDocument, trusted_public_key: bytes, *, name: str,
    trusted: str = "the trusted key",
) -> None:  # fmt: skip
    """Raise `IntegrityFailure` unless `trusted_public_key` signed exactly this body.

    There is deliberately no "trust the embedded key" mode: anyone can sign a
    forged document with a key of their own.
    """
    if not hmac.compare_digest(signed.public_key, trusted_public_key):
        raise IntegrityFailure(
            f"{name} is signed by key {key_id(signed.public_key)}, not by {trusted} "
            f"{key_id(trusted_public_key)}"
        )
    try:
        message = canonical_json(signed.body)
        Ed25519PublicKey.from_public_bytes(trusted_public_key).verify(signed.signature, message)
    except (InvalidSignature, ValueError):
        raise IntegrityFailure(
            f"{name}: the signature does not match the {signed.body_field} (it was altered "
            "after signing)"
        ) from None


class _KeyedBody(Protocol):
    signing_key_id: str


Body = TypeVar("Body", bound=BaseModel)


def verify_signed_file(
    path: Path, model: type[Body], *, body_field: str, kind: str, trusted_public_key: bytes,
    trusted: str = "the trusted key",
) -> Body:  # fmt: skip
    """The body of a signed document file, once `trusted_public_key` is shown to have signed it.

    The body is then validated as written (not canonically: `1250.0` is no
    integer, though RFC 8785 prints it `1250`) and must name the key that
    signed it in its `signing_key_id`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{kind} file {path} does not exist") from None
    except UnicodeDecodeError:
        raise IntegrityFailure(f"{path.name} is not a credx {kind}") from None
    signed = read_signed_document(text, body_field, name=path.name, kind=kind)
    verify_signature(signed, trusted_public_key, name=path.name, trusted=trusted)
    try:
        body = model.model_validate_json(json.dumps(signed.body))
    except ValidationError as exc:
        raise IntegrityFailure(f"{path.name}: signed, but not a valid {kind}: {exc}") from None
    keyed: _KeyedBody = body  # type: ignore[assignment]  # every signed body names its key
    if keyed.signing_key_id != key_id(signed.public_key):
        raise IntegrityFailure(f"{path.name}: the {body_field} names another signing key")
    return body


def _decode(value: Any, length: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except binascii.Error:
        raw = b""
    if len(raw) != length:
        raise IntegrityFailure(f"{what} is damaged (not {length} bytes of base64)")
    return raw
