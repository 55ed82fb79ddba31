"""Open Badges 3.0 verification against an issuer served on loopback with keys made here."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import random
import struct
import zlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from joserfc.jwk import OKPKey

from exchange.evidence.badges import (
    BadgeRefused,
    RefusalReason,
    looks_like_badge,
    verify_badge,
)
from tests.exchange.evidence.issuer import (
    badge,
    did_key,
    iso,
    multikey,
    now,
    refused,
    settings_for,
    sign_data_integrity,
    sign_jwt,
    write,
)

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


# --- accepted badges -------------------------------------------------------------------


def test_vc_jwt_badge_signed_with_the_issuers_did_web_key_verifies(issuer, tmp_path):
    credential = badge(issuer.did)
    path = write(tmp_path, sign_jwt(credential, issuer.ed_jwk, issuer.ed_kid), "badge.jwt")

    result = verify_badge(path, settings_for(tmp_path, issuer.base_url))

    assert result.issuer_id == issuer.did
    assert result.issuer_name == "CompTIA (test issuer)"
    assert result.issuer_trusted is True
    assert result.credential_id == credential["id"]
    assert result.subject_id == "did:example:student-1"
    assert result.subject_identifiers == ("studentId:LA-1000001",)
    assert result.achievement_name == "CompTIA A+ Certification"
    assert result.proof_type == "VC-JWT EdDSA"
    assert result.key_id == issuer.ed_kid
    assert result.valid_until is not None and result.valid_until > now()
    assert result.status_checked is False
    assert issuer.requests == ["/.well-known/did.json"]
    assert result.as_json()["valid_from"] == credential["validFrom"].replace("Z", "+00:00")


def test_vc_jose_payload_signed_es256_verifies(issuer, tmp_path):
    token = sign_jwt(badge(issuer.did), issuer.ec_jwk, issuer.ec_kid, alg="ES256", envelope=False)
    result = verify_badge(
        write(tmp_path, token + "\n", "badge.jwt"), settings_for(tmp_path, issuer.base_url)
    )
    assert result.proof_type == "VC-JWT ES256"
    assert result.key_id == issuer.ec_kid


def test_vc_claim_may_leave_issuer_and_id_to_the_jwt_claims(issuer, tmp_path):
    credential = badge(issuer.did)
    token = sign_jwt(credential, issuer.ed_jwk, "#key-1")  # kid relative to the issuer's DID
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    del claims["vc"]["issuer"], claims["vc"]["id"]
    trimmed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signing_input = f"{header}.{trimmed}".encode()
    signature = base64.urlsafe_b64encode(issuer.ed_private.sign(signing_input)).rstrip(b"=")
    path = write(tmp_path, f"{header}.{trimmed}.{signature.decode()}", "badge.jwt")

    result = verify_badge(path, settings_for(tmp_path, issuer.base_url))

    assert (result.issuer_id, result.credential_id) == (issuer.did, credential["id"])
    assert result.issuer_name is None
    assert result.key_id == issuer.ed_kid


def test_data_integrity_badge_with_a_status_list_verifies(issuer, tmp_path):
    status_url = issuer.publish_status_list("/status/1", revoked={7})
    credential = badge(issuer.did, credentialStatus=issuer.status_entry(status_url, 8))
    signed = sign_data_integrity(credential, issuer.ed_private, issuer.ed_kid)

    result = verify_badge(write(tmp_path, signed), settings_for(tmp_path, issuer.base_url))

    assert result.proof_type == "DataIntegrityProof eddsa-jcs-2022"
    assert result.status_checked is True
    assert "/status/1" in issuer.requests


def test_did_key_badge_verifies_offline_but_its_issuer_is_not_vouched_for(issuer, tmp_path):
    private = ed25519.Ed25519PrivateKey.generate()
    signer = did_key(private)
    signed = sign_data_integrity(badge(signer), private, f"{signer}#{signer[8:]}")

    result = verify_badge(write(tmp_path, signed), settings_for(tmp_path))

    assert result.issuer_id == signer
    assert result.issuer_trusted is False
    assert issuer.requests == []


def test_key_published_at_an_https_style_url_names_its_controller(issuer, tmp_path):
    controller = issuer.base_url + "/issuers/comptia"
    key_url = issuer.serve_json(
        "/issuers/comptia/key-1",
        {
            "id": issuer.base_url + "/issuers/comptia/key-1",
            "type": "JsonWebKey",
            "controller": controller,
            "publicKeyJwk": issuer.ed_jwk.as_dict(private=False),
        },
    )
    token = sign_jwt(badge(controller), issuer.ed_jwk, key_url)
    settings = settings_for(tmp_path, issuer.base_url + "/issuers/comptia")

    assert verify_badge(write(tmp_path, token, "b.jwt"), settings).key_id == key_url


def png_with_chunk(kind: bytes, body: bytes) -> bytes:
    """A 1x1 PNG with one extra chunk before IEND."""

    def chunk(name: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(name + data)
        return struct.pack(">I", len(data)) + name + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
        + chunk(kind, body) + chunk(b"IEND", b"")
    )  # fmt: skip


@pytest.mark.parametrize("compressed", [False, True])
def test_badge_baked_into_a_png_verifies(issuer, tmp_path, compressed):
    token = sign_jwt(badge(issuer.did), issuer.ed_jwk, issuer.ed_kid).encode()
    text = zlib.compress(token) if compressed else token
    itxt = b"openbadgecredential\0" + bytes([compressed, 0]) + b"\0\0" + text
    path = tmp_path / "badge.png"
    path.write_bytes(png_with_chunk(b"iTXt", itxt))

    assert looks_like_badge(path)
    assert verify_badge(path, settings_for(tmp_path, issuer.base_url)).issuer_id == issuer.did


def test_png_without_a_baked_badge_is_not_a_badge(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png_with_chunk(b"tEXt", b"Comment\0scanned certificate"))
    assert not looks_like_badge(path)
    assert refused(path, settings_for(tmp_path)).reason == RefusalReason.NOT_A_BADGE


def test_did_web_with_a_path_resolves_below_the_host(issuer, tmp_path):
    did = f"{issuer.did}:issuers:comptia"
    issuer.serve_json("/issuers/comptia/did.json", {
        "id": did,
        "verificationMethod": [{"id": "#k", "type": "Multikey", "controller": did,
                                "publicKeyMultibase": multikey(issuer.ed_private)}],
    })  # fmt: skip
    signed = sign_data_integrity(badge(did), issuer.ed_private, f"{did}#k")

    result = verify_badge(write(tmp_path, signed), settings_for(tmp_path, issuer.base_url))

    assert (result.issuer_id, result.key_id) == (did, f"{did}#k")
    assert issuer.requests == ["/issuers/comptia/did.json"]


def test_suspended_badge_is_refused(issuer, tmp_path):
    url = issuer.publish_status_list("/status/suspended", revoked={5}, purpose="suspension")
    credential = badge(issuer.did, credentialStatus=issuer.status_entry(url, 5, "suspension"))
    signed = sign_data_integrity(credential, issuer.ed_private, issuer.ed_kid)
    error = refused(write(tmp_path, signed), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.REVOKED
    assert "suspended" in str(error)


# --- refused badges --------------------------------------------------------------------


def test_tampered_jwt_payload_is_refused(issuer, tmp_path):
    header, payload, signature = sign_jwt(badge(issuer.did), issuer.ed_jwk, issuer.ed_kid).split(
        "."
    )
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["vc"]["credentialSubject"]["achievement"]["name"] = "CompTIA Security+ Certification"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    path = write(tmp_path, f"{header}.{forged}.{signature}", "badge.jwt")

    error = refused(path, settings_for(tmp_path, issuer.base_url))

    assert error.reason == RefusalReason.BAD_SIGNATURE
    assert "changed after the issuer signed it" in str(error)


def test_tampered_data_integrity_badge_is_refused(issuer, tmp_path):
    signed = sign_data_integrity(badge(issuer.did), issuer.ed_private, issuer.ed_kid)
    signed["credentialSubject"]["identifier"][0]["identityHash"] = "LA-2000002"
    error = refused(write(tmp_path, signed), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.BAD_SIGNATURE


def test_expired_badge_is_refused_with_its_date(issuer, tmp_path):
    ended = now() - timedelta(days=2)
    credential = badge(
        issuer.did, validFrom=iso(ended - timedelta(days=400)), validUntil=iso(ended)
    )
    token = sign_jwt(credential, issuer.ed_jwk, issuer.ed_kid)

    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))

    assert error.reason == RefusalReason.EXPIRED
    assert f"expired on {ended:%Y-%m-%d}" in str(error)


def test_badge_not_yet_valid_is_refused(issuer, tmp_path):
    credential = badge(issuer.did, validFrom=iso(now() + timedelta(days=10)))
    signed = sign_data_integrity(credential, issuer.ed_private, issuer.ed_kid)
    error = refused(write(tmp_path, signed), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.NOT_YET_VALID


def test_badge_signed_by_another_key_under_the_issuers_kid_is_refused(issuer, tmp_path):
    impostor = OKPKey.generate_key("Ed25519")
    token = sign_jwt(badge(issuer.did), impostor, issuer.ed_kid)
    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.BAD_SIGNATURE
    assert issuer.ed_kid in str(error)


def test_badge_claiming_a_trusted_issuer_but_signed_with_a_did_key_is_refused(issuer, tmp_path):
    private = ed25519.Ed25519PrivateKey.generate()
    signer = did_key(private)
    signed = sign_data_integrity(badge(issuer.did), private, f"{signer}#{signer[8:]}")
    error = refused(write(tmp_path, signed), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.ISSUER_MISMATCH


def test_unknown_kid_is_refused(issuer, tmp_path):
    token = sign_jwt(badge(issuer.did), issuer.ed_jwk, f"{issuer.did}#key-9")
    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.UNKNOWN_KEY
    assert "key-9" in str(error)


def test_untrusted_issuer_is_refused_without_any_fetch(issuer, tmp_path):
    token = sign_jwt(badge(issuer.did), issuer.ed_jwk, issuer.ed_kid)
    error = refused(
        write(tmp_path, token, "b.jwt"), settings_for(tmp_path, "https://badges.example.org")
    )
    assert error.reason == RefusalReason.UNTRUSTED_ISSUER
    assert "CREDX_BADGE_TRUSTED_ISSUERS" in str(error)
    assert issuer.requests == []


def test_revoked_badge_is_refused(issuer, tmp_path):
    status_url = issuer.publish_status_list("/status/2", revoked={3, 42})
    credential = badge(issuer.did, credentialStatus=issuer.status_entry(status_url, 42))
    token = sign_jwt(credential, issuer.ed_jwk, issuer.ed_kid)
    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.REVOKED
    assert "revoked" in str(error)


def test_badge_on_a_1edtech_revocation_list_is_refused(issuer, tmp_path):
    credential = badge(issuer.did)
    list_url = issuer.serve_json(
        "/revocations",
        {
            "id": issuer.base_url + "/revocations",
            "issuer": issuer.did,
            "revokedCredentials": [{"id": credential["id"], "revocationReason": "exam voided"}],
        },
    )
    credential["credentialStatus"] = {"id": list_url, "type": "1EdTechRevocationList"}
    signed = sign_data_integrity(credential, issuer.ed_private, issuer.ed_kid)
    error = refused(write(tmp_path, signed), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.REVOKED


def test_unreachable_status_list_refuses_the_badge(issuer, tmp_path):
    missing = issuer.base_url + "/status/gone"
    credential = badge(issuer.did, credentialStatus=issuer.status_entry(missing, 1))
    token = sign_jwt(credential, issuer.ed_jwk, issuer.ed_kid)
    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.STATUS_UNAVAILABLE
    assert "revocation status could not be checked" in str(error)
    assert "HTTP 404" in str(error)


def test_status_list_signed_by_someone_else_refuses_the_badge(issuer, tmp_path):
    private = ed25519.Ed25519PrivateKey.generate()
    forger = did_key(private)
    url = issuer.base_url + "/status/forged"
    forged = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "issuer": forger,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "credentialSubject": {
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
        },
    }
    issuer.serve_json(
        "/status/forged", sign_data_integrity(forged, private, f"{forger}#{forger[8:]}")
    )
    credential = badge(issuer.did, credentialStatus=issuer.status_entry(url, 1))
    token = sign_jwt(credential, issuer.ed_jwk, issuer.ed_kid)
    error = refused(write(tmp_path, token, "b.jwt"), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.STATUS_UNAVAILABLE


def test_unsupported_proof_suite_is_refused(issuer, tmp_path):
    credential = badge(
        issuer.did,
        proof={
            "type": "Ed25519Signature2020",
            "verificationMethod": issuer.ed_kid,
            "proofPurpose": "assertionMethod",
            "proofValue": "z3FXQjecWufY46",
        },
    )
    error = refused(write(tmp_path, credential), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.UNSUPPORTED_PROOF
    assert "unsupported proof suite 'Ed25519Signature2020'" in str(error)
    assert issuer.requests == []


def test_unsigned_badge_is_refused(issuer, tmp_path):
    error = refused(write(tmp_path, badge(issuer.did)), settings_for(tmp_path, issuer.base_url))
    assert error.reason == RefusalReason.UNSUPPORTED_PROOF


@pytest.mark.parametrize(
    "content",
    ['{"@context": ["https://www.w3.org/ns/credentials/v2"', "[1, 2]", "hello", "\x00\x01"],
)
def test_malformed_file_is_refused(tmp_path, content):
    error = refused(write(tmp_path, content), settings_for(tmp_path))
    assert error.reason == RefusalReason.MALFORMED


def test_oversized_file_is_refused_before_parsing(tmp_path):
    settings = settings_for(tmp_path)
    path = write(tmp_path, '{"a": "' + "x" * settings.badge_max_bytes + '"}')
    error = refused(path, settings)
    assert error.reason == RefusalReason.TOO_LARGE


HOSTILE = [
    None, [], {}, "", "x", -1, 2**70, 1e308, True, [None], {"id": []}, "did:key:zzz",
    "https://[::1", "http://127.0.0.1:99999/x", "2025-13-45", [[[]]], {"id": {"id": 1}},
]  # fmt: skip


def _mutated(document: dict, rng: random.Random) -> dict:
    """A copy with one value anywhere in it replaced by a hostile one, or deleted."""
    document = copy.deepcopy(document)
    parent, key = document, rng.choice(list(document))
    while isinstance(parent[key], dict | list) and parent[key] and rng.random() < 0.7:
        parent = parent[key]
        key = rng.choice(list(parent)) if isinstance(parent, dict) else rng.randrange(len(parent))
    if isinstance(parent, dict) and rng.random() < 0.2:
        del parent[key]
    else:
        parent[key] = copy.deepcopy(rng.choice(HOSTILE))
    return document


def test_hostile_values_anywhere_are_refused_never_crash(issuer, tmp_path):
    """Signed after mutation (reaching every check), or mutated after signing (never passes)."""
    rng = random.Random(5)
    status_url = issuer.publish_status_list("/status/fuzz", revoked={1})
    base = badge(issuer.did, credentialStatus=issuer.status_entry(status_url, 2))
    signed = sign_data_integrity(base, issuer.ed_private, issuer.ed_kid)
    settings = settings_for(tmp_path, issuer.base_url)
    outcomes = set()
    for round_ in range(150):
        if round_ % 2:
            document = _mutated(signed, rng)
        else:
            document = _mutated(base, rng)
            with contextlib.suppress(Exception):  # the test signer needs some fields
                document = sign_data_integrity(document, issuer.ed_private, issuer.ed_kid)
        try:
            verify_badge(write(tmp_path, document), settings)
            outcomes.add("verified")
            assert round_ % 2 == 0 or document == signed, "a change after signing passed"
        except BadgeRefused as refusal:
            outcomes.add(refusal.reason)
    assert {"verified", RefusalReason.BAD_SIGNATURE, RefusalReason.MALFORMED} <= outcomes


# --- routing uploads -------------------------------------------------------------------


def test_looks_like_badge_recognises_badges_and_nothing_else(issuer, tmp_path):
    signed = sign_data_integrity(badge(issuer.did), issuer.ed_private, issuer.ed_kid)
    token = sign_jwt(badge(issuer.did), issuer.ed_jwk, issuer.ed_kid)
    assert looks_like_badge(write(tmp_path, signed, "a.json"))
    assert looks_like_badge(write(tmp_path, token, "b.jwt"))
    assert not looks_like_badge(write(tmp_path, {"type": "Invoice"}, "c.json"))
    assert not looks_like_badge(write(tmp_path, "a.b.c", "d.txt"))
    png = tmp_path / "e.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    assert not looks_like_badge(png)
