"""Finding the issuer's public key named by a proof, and who controls it.

Three ways an issuer publishes a key: `did:key` (the key is the identifier,
decoded locally, nothing fetched), `did:web` (a DID document at a well-known
https URL) and a plain https URL returning a verification method (Multikey or
JsonWebKey) or a document listing them.  Fetches go through `TrustedFetcher`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey, import_key

from .fetch import FetchError, NotTrusted, TrustedFetcher
from .model import BadgeRefused, RefusalReason

PublicKey = OKPKey | ECKey | RSAKey

# Multicodec prefixes (unsigned varints) of the public keys a Multikey may hold.
_ED25519_PUB = b"\xed\x01"
_P256_PUB = b"\x80\x24"


@dataclass(frozen=True)
class IssuerKey:
    """A public key, the identifier it was found under, and its controller (the issuer)."""

    key_id: str
    controller: str
    key: PublicKey
    fetched: bool


def resolve_key(key_id: str, fetcher: TrustedFetcher) -> IssuerKey:
    """The key `key_id` names; refuses untrusted hosts before any network access."""
    if key_id.startswith("did:key:"):
        return _did_key(key_id)
    try:
        if key_id.startswith("did:web:"):
            return _did_web(key_id, fetcher)
        if key_id.startswith(("https://", "http://")):
            return _key_url(key_id, fetcher)
    except NotTrusted as exc:
        raise _untrusted(key_id) from exc
    except FetchError as exc:
        raise BadgeRefused(
            RefusalReason.KEY_UNAVAILABLE,
            f"The issuer's key could not be fetched: {exc}. Try again later; if it keeps "
            "failing, upload a certificate image instead.",
        ) from exc
    raise BadgeRefused(
        RefusalReason.UNSUPPORTED_PROOF,
        f"The badge names its key as {key_id!r}; credx accepts did:key, did:web and https "
        "key URLs. Upload a certificate image instead.",
    )


def _untrusted(key_id: str) -> BadgeRefused:
    issuer = key_id.split("#", 1)[0]
    return BadgeRefused(
        RefusalReason.UNTRUSTED_ISSUER,
        f"Badges whose key is published at {issuer} are not accepted yet: ask the state's "
        "credx operator to add the issuer to CREDX_BADGE_TRUSTED_ISSUERS, or upload a "
        "certificate image instead.",
    )


def _did_key(key_id: str) -> IssuerKey:
    did, _, fragment = key_id.partition("#")
    identifier = did.removeprefix("did:key:")
    if fragment and fragment != identifier:
        raise _unknown_key(key_id, did)
    key = multikey(identifier, key_id)
    return IssuerKey(key_id=f"{did}#{identifier}", controller=did, key=key, fetched=False)


def _did_web(key_id: str, fetcher: TrustedFetcher) -> IssuerKey:
    did = key_id.split("#", 1)[0]
    url = fetcher.did_document_url(did)
    document = _json_document(fetcher.get(url, via_did=did), url)
    if document.get("id") != did:
        raise BadgeRefused(
            RefusalReason.ISSUER_MISMATCH,
            f"The DID document at {url} is for {document.get('id')!r}, not {did}; the "
            "issuer's publication is inconsistent. Upload a certificate image instead.",
        )
    method = _find_method(document, key_id, did)
    _check_assertion(document, method, key_id, did)
    return IssuerKey(key_id, str(method.get("controller", did)), _method_key(method, key_id), True)


def _key_url(key_id: str, fetcher: TrustedFetcher) -> IssuerKey:
    url = key_id.split("#", 1)[0]
    document = _json_document(fetcher.get(url), url)
    if isinstance(document.get("verificationMethod"), list):
        method = _find_method(document, key_id, str(document.get("id", url)))
    elif document.get("id") in (key_id, url):
        method = document
    else:
        raise _unknown_key(key_id, url)
    controller = method.get("controller")
    if not isinstance(controller, str):
        raise BadgeRefused(
            RefusalReason.ISSUER_MISMATCH,
            f"The key document at {url} does not name its controller, so it cannot be tied "
            "to the badge's issuer. Upload a certificate image instead.",
        )
    return IssuerKey(key_id, controller, _method_key(method, key_id), True)


def _json_document(body: bytes, url: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise BadgeRefused(
            RefusalReason.KEY_UNAVAILABLE,
            f"The issuer's key document at {url} is not a JSON object. Try again later or "
            "upload a certificate image instead.",
        )
    return document


def _find_method(document: dict[str, Any], key_id: str, base: str) -> dict[str, Any]:
    fragment = "#" + key_id.partition("#")[2]
    methods = document.get("verificationMethod")
    for method in methods if isinstance(methods, list) else []:
        if isinstance(method, dict) and method.get("id") in (key_id, fragment, base + fragment):
            return method
    raise _unknown_key(key_id, base)


def _check_assertion(document: dict[str, Any], method: dict[str, Any], key_id: str, did: str):
    """A key may sign credentials only if the DID document lists it under assertionMethod."""
    allowed = document.get("assertionMethod")
    if allowed is None:
        return
    allowed = allowed if isinstance(allowed, list) else []
    fragment = "#" + key_id.partition("#")[2]
    ids = [m.get("id") if isinstance(m, dict) else m for m in allowed]
    if not {key_id, fragment, did + fragment} & {i for i in ids if isinstance(i, str)}:
        raise BadgeRefused(
            RefusalReason.UNKNOWN_KEY,
            f"The issuer {did} has not authorised key {key_id} to sign credentials "
            "(assertionMethod). Upload a certificate image instead.",
        )


def _unknown_key(key_id: str, where: str) -> BadgeRefused:
    return BadgeRefused(
        RefusalReason.UNKNOWN_KEY,
        f"The issuer's published keys ({where}) do not include {key_id}, the key the badge "
        "says signed it: the badge was not signed by this issuer, or the issuer withdrew "
        "the key. Download the badge again from the issuer or upload a certificate image.",
    )


def _method_key(method: dict[str, Any], key_id: str) -> PublicKey:
    if isinstance(method.get("publicKeyMultibase"), str):
        return multikey(method["publicKeyMultibase"], key_id)
    if isinstance(method.get("publicKeyBase58"), str):  # Ed25519VerificationKey2018
        return _raw_ed25519(_b58(method["publicKeyBase58"], key_id), key_id)
    jwk = method.get("publicKeyJwk")
    if isinstance(jwk, dict) and "d" not in jwk:
        try:
            key = import_key(jwk)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _bad_key(key_id) from exc
        if isinstance(key, OKPKey | ECKey | RSAKey):
            return key
    raise _bad_key(key_id)


def multikey(value: str, key_id: str) -> PublicKey:
    """A Multikey `publicKeyMultibase` (base58btc, `z`): Ed25519 or P-256."""
    if not value.startswith("z"):
        raise _bad_key(key_id)
    raw = _b58(value[1:], key_id)
    if raw.startswith(_ED25519_PUB):
        return _raw_ed25519(raw[2:], key_id)
    if raw.startswith(_P256_PUB):
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
        except ValueError as exc:
            raise _bad_key(key_id) from exc
        return ECKey.import_key(point)
    raise _bad_key(key_id)


def _b58(value: str, key_id: str) -> bytes:
    try:
        return base58.b58decode(value)
    except ValueError as exc:
        raise _bad_key(key_id) from exc


def _raw_ed25519(raw: bytes, key_id: str) -> OKPKey:
    if len(raw) != 32:
        raise _bad_key(key_id)
    return OKPKey.import_key(ed25519.Ed25519PublicKey.from_public_bytes(raw))


def _bad_key(key_id: str) -> BadgeRefused:
    return BadgeRefused(
        RefusalReason.UNSUPPORTED_PROOF,
        f"The key {key_id} is not an Ed25519, P-256 or RSA public key credx can use. "
        "Upload a certificate image instead.",
    )
