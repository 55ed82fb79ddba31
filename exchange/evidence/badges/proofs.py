"""Checking the issuer's signature: VC-JWT (compact JWS) or an embedded Data Integrity proof.

Only proofs credx can check offline are accepted: JOSE signatures (joserfc) and
`eddsa-jcs-2022` (JSON Canonicalization Scheme, RFC 8785, then Ed25519).  Suites
that need JSON-LD/RDF canonicalization (`eddsa-rdfc-2022`, `Ed25519Signature2020`)
would have to fetch JSON-LD contexts at run time, which credx never does.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError

from .fetch import TrustedFetcher
from .keys import IssuerKey, resolve_key
from .model import BadgeRefused, RefusalReason

JWS_ALGORITHMS = ("EdDSA", "Ed25519", "ES256", "ES384", "RS256", "PS256")
JCS_SUITE = "eddsa-jcs-2022"


@dataclass(frozen=True)
class Proven:
    """A credential whose signature checked out, with the key and the JWT claims (if any)."""

    credential: dict[str, Any]
    key: IssuerKey
    proof_type: str
    claims: dict[str, Any]


def malformed(detail: str) -> BadgeRefused:
    return BadgeRefused(
        RefusalReason.MALFORMED,
        f"The file is not a readable Open Badges credential ({detail}). Download the badge "
        "again from the issuer (the JSON or JWT file, not a screenshot) and upload it unchanged.",
    )


def bad_signature(key: IssuerKey) -> BadgeRefused:
    return BadgeRefused(
        RefusalReason.BAD_SIGNATURE,
        f"The badge's signature does not verify with the issuer's key {key.key_id}: the file "
        "was changed after the issuer signed it, or it was signed by someone else. Download "
        "the badge again from the issuer and upload it unchanged.",
    )


def unsupported(suite: str) -> BadgeRefused:
    return BadgeRefused(
        RefusalReason.UNSUPPORTED_PROOF,
        f"The badge is signed with the unsupported proof suite {suite!r}; credx checks VC-JWT "
        f"and DataIntegrityProof {JCS_SUITE}. Ask the issuer for the badge as a VC-JWT, or "
        "upload a certificate image instead.",
    )


def _b64_json(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise malformed(f"the JWT {what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise malformed(f"the JWT {what} is not a JSON object")
    return value


def verify_jwt(token: str, fetcher: TrustedFetcher, max_bytes: int) -> Proven:
    """A VC-JWT: `vc` claim (VC 1.1 JWT) or the credential as the payload (VC-JOSE)."""
    header_part, payload_part, _ = token.split(".")
    header = _b64_json(header_part, "header")
    claims = _b64_json(payload_part, "payload")
    alg = header.get("alg")
    if alg not in JWS_ALGORITHMS:
        raise unsupported(f"JWS {alg}")
    credential = _jwt_credential(claims)
    key = resolve_key(_jwt_key_id(header, claims, credential), fetcher)
    registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    registry.max_payload_length = registry.max_header_length = max_bytes
    try:
        jws.deserialize_compact(token, key.key, algorithms=[alg], registry=registry)
    except BadSignatureError as exc:
        raise bad_signature(key) from exc
    except JoseError as exc:  # e.g. an EC key named for an EdDSA signature
        raise bad_signature(key) from exc
    return Proven(credential, key, f"VC-JWT {alg}", claims)


def _jwt_credential(claims: dict[str, Any]) -> dict[str, Any]:
    """The credential of a VC-JWT; a VC 1.1 `vc` claim may leave issuer and id to iss and jti."""
    if not isinstance(claims.get("vc"), dict):
        return claims
    credential = dict(claims["vc"])
    if "issuer" not in credential and isinstance(claims.get("iss"), str):
        credential["issuer"] = claims["iss"]
    if "id" not in credential and isinstance(claims.get("jti"), str):
        credential["id"] = claims["jti"]
    return credential


def _jwt_key_id(header: dict[str, Any], claims: dict[str, Any], credential: dict) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise BadgeRefused(
            RefusalReason.UNKNOWN_KEY,
            "The badge does not say which of the issuer's keys signed it (no `kid`), so it "
            "cannot be checked. Ask the issuer for a badge file that names its key.",
        )
    if kid.startswith("#"):  # relative to the issuer's DID
        return f"{claims.get('iss') or issuer_id(credential)}{kid}"
    return kid


def issuer_id(credential: dict[str, Any]) -> str:
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(value, str) or not value:
        raise malformed("it names no issuer")
    return value


def verify_embedded(document: dict[str, Any], fetcher: TrustedFetcher) -> Proven:
    """A credential with an embedded `proof`: only DataIntegrityProof eddsa-jcs-2022."""
    proofs = document.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    proof = next((p for p in proofs if _is_jcs(p)), None)
    if proof is None:
        first = proofs[0] if proofs and isinstance(proofs[0], dict) else {}
        raise unsupported(str(first.get("cryptosuite") or first.get("type") or "none"))
    if proof.get("proofPurpose") != "assertionMethod":
        raise malformed("its proof is not an assertion by the issuer (proofPurpose)")
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        raise malformed("its proof names no verification method")
    key = resolve_key(method, fetcher)
    public = key.key.public_key
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise bad_signature(key)
    try:
        public.verify(_proof_bytes(proof), jcs_hash_data(document, proof))
    except InvalidSignature as exc:
        raise bad_signature(key) from exc
    return Proven(document, key, f"DataIntegrityProof {JCS_SUITE}", {})


def _is_jcs(proof: Any) -> bool:
    return (
        isinstance(proof, dict)
        and proof.get("type") == "DataIntegrityProof"
        and proof.get("cryptosuite") == JCS_SUITE
    )


def _proof_bytes(proof: dict[str, Any]) -> bytes:
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise malformed("its proofValue is not base58btc multibase")
    try:
        signature = base58.b58decode(value[1:])
    except ValueError as exc:
        raise malformed("its proofValue is not base58btc multibase") from exc
    if len(signature) != 64:
        raise malformed("its proofValue is not an Ed25519 signature")
    return signature


def jcs_hash_data(document: dict[str, Any], proof: dict[str, Any]) -> bytes:
    """SHA-256(JCS(proof config)) || SHA-256(JCS(document)), per vc-di-eddsa 3.3.

    The document is taken without its proof; the proof config is the proof without
    `proofValue`, carrying the document's `@context` (which, if the proof states its
    own `@context`, must begin the document's).
    """
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in config:
        stated = _as_list(config["@context"])
        if _as_list(unsecured.get("@context"))[: len(stated)] != stated:
            raise malformed("its proof's @context does not match the credential's")
        unsecured["@context"] = config["@context"]
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    try:
        return (
            hashlib.sha256(rfc8785.dumps(config)).digest()
            + hashlib.sha256(rfc8785.dumps(unsecured)).digest()
        )
    except rfc8785.CanonicalizationError as exc:
        raise malformed("it holds numbers JSON canonicalization cannot represent") from exc


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
