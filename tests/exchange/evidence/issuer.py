"""A badge issuer on loopback for tests: real keys, real HTTP, real signatures.

`LoopbackIssuer` serves a DID document (`did:web:127.0.0.1%3A<port>`), key
documents and status lists from a stdlib HTTP server in a thread, and records
every request so a test can prove that nothing was fetched.  The signing side
is written here from the specifications (VC-JWT with joserfc; eddsa-jcs-2022
from W3C vc-di-eddsa section 3.3 with rfc8785 and cryptography), independently
of the verifier under test.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import base58
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey

from exchange.evidence.badges import BadgeRefused, verify_badge
from kernel.settings import Settings

VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
STATUS_LIST_BITS = 131_072  # the Bitstring Status List minimum (16 KiB)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def multikey(private: ed25519.Ed25519PrivateKey) -> str:
    """Ed25519 public key as Multikey: base58btc of 0xed01 + the 32 raw bytes."""
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "z" + base58.b58encode(b"\xed\x01" + raw).decode()


def did_key(private: ed25519.Ed25519PrivateKey) -> str:
    return f"did:key:{multikey(private)}"


def sign_data_integrity(
    document: dict[str, Any], private: ed25519.Ed25519PrivateKey, method: str
) -> dict[str, Any]:
    """A copy of `document` with a DataIntegrityProof eddsa-jcs-2022 (vc-di-eddsa 3.3.1)."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": iso(now()),
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    hashed = dict(config, **{"@context": unsecured["@context"]})
    data = hashlib.sha256(rfc8785.dumps(hashed)).digest()
    data += hashlib.sha256(rfc8785.dumps(unsecured)).digest()
    signature = private.sign(data)
    proof = dict(config, proofValue="z" + base58.b58encode(signature).decode())
    return dict(unsecured, proof=proof)


def sign_jwt(
    credential: dict[str, Any],
    key: OKPKey | ECKey,
    kid: str,
    *,
    alg: str = "EdDSA",
    envelope: bool = True,
) -> str:
    """A VC-JWT: VC 1.1 style (`vc` claim, iss/sub/nbf/exp) or VC-JOSE (payload = credential)."""
    if envelope:
        claims: dict[str, Any] = {
            "vc": credential,
            "iss": _issuer_id(credential),
            "jti": credential["id"],
            "sub": credential["credentialSubject"].get("id"),
            "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
        }
        if "validUntil" in credential:
            claims["exp"] = int(datetime.fromisoformat(credential["validUntil"]).timestamp())
        header = {"alg": alg, "kid": kid, "typ": "JWT"}
    else:
        claims, header = credential, {"alg": alg, "kid": kid, "typ": "vc+jwt", "cty": "vc"}
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[alg])


def _issuer_id(credential: dict[str, Any]) -> str:
    issuer = credential["issuer"]
    return issuer["id"] if isinstance(issuer, dict) else issuer


def badge(issuer: str, **changes: Any) -> dict[str, Any]:
    """An unsigned OB 3.0 OpenBadgeCredential for a CompTIA A+ earned by a student."""
    credential: dict[str, Any] = {
        "@context": [VC2, OB3],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "CompTIA (test issuer)"},
        "name": "CompTIA A+",
        "validFrom": iso(now() - timedelta(days=30)),
        "validUntil": iso(now() + timedelta(days=3 * 365)),
        "credentialSubject": {
            "id": "did:example:student-1",
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "studentId",
                    "hashed": False,
                    "identityHash": "LA-1000001",
                }
            ],
            "achievement": {
                "id": "https://example.org/achievements/comptia-a-plus",
                "type": ["Achievement"],
                "name": "CompTIA A+ Certification",
                "criteria": {"narrative": "Passed exams 220-1101 and 220-1102."},
            },
        },
    }
    credential.update(changes)
    return credential


def encoded_list(revoked: set[int], bits: int = STATUS_LIST_BITS) -> str:
    """Bitstring Status List `encodedList`: multibase base64url (no padding) of GZIP bits."""
    raw = bytearray(bits // 8)
    for index in revoked:
        raw[index // 8] |= 0x80 >> (index % 8)
    packed = base64.urlsafe_b64encode(gzip.compress(bytes(raw))).rstrip(b"=")
    return "u" + packed.decode()


@dataclass
class Route:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackIssuer:
    """Keys of one issuer, its HTTP documents, and a log of the paths requested."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.did = f"did:web:127.0.0.1%3A{port}"
        self.ed_private = ed25519.Ed25519PrivateKey.generate()
        self.ed_jwk = OKPKey.import_key(self.ed_private)
        self.ec_jwk = ECKey.generate_key("P-256")
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.publish_did_document()

    @property
    def ed_kid(self) -> str:
        return f"{self.did}#key-1"

    @property
    def ec_kid(self) -> str:
        return f"{self.did}#key-2"

    def publish_did_document(self) -> None:
        """did.json with an Ed25519 Multikey and a P-256 JsonWebKey, both assertion keys."""
        methods = [
            {
                "id": self.ed_kid,
                "type": "Multikey",
                "controller": self.did,
                "publicKeyMultibase": multikey(self.ed_private),
            },
            {
                "id": self.ec_kid,
                "type": "JsonWebKey",
                "controller": self.did,
                "publicKeyJwk": self.ec_jwk.as_dict(private=False),
            },
        ]
        document = {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": [self.ed_kid, self.ec_kid],
        }
        self.serve_json("/.well-known/did.json", document)

    def serve_json(self, path: str, document: Any, status: int = 200) -> str:
        self.routes[path] = Route(status, json.dumps(document).encode())
        return self.base_url + path

    def serve(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base_url + path

    def publish_status_list(self, path: str, revoked: set[int], purpose: str = "revocation"):
        """A signed BitstringStatusListCredential with the given indices set."""
        url = self.base_url + path
        status_list = {
            "@context": [VC2],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.did,
            "validFrom": iso(now() - timedelta(days=1)),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": encoded_list(revoked),
            },
        }
        return self.serve_json(path, sign_data_integrity(status_list, self.ed_private, self.ed_kid))

    def status_entry(self, url: str, index: int, purpose: str = "revocation") -> dict[str, Any]:
        return {
            "id": f"{url}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": url,
        }


def _handler(issuer: LoopbackIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.requests.append(self.path)
            route = issuer.routes.get(self.path, Route(404, b'{"error": "not found"}'))
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler


@contextmanager
def running_issuer() -> Iterator[LoopbackIssuer]:
    """The issuer's HTTP server on 127.0.0.1 at a free port, for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = LoopbackIssuer(server.server_address[1])
    server.RequestHandlerClass = _handler(issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def settings_for(tmp_path: Path, *trusted: str) -> Settings:
    """Settings trusting exactly `trusted` (URL prefixes, DIDs), with a short fetch timeout."""
    return Settings(
        home=tmp_path, badge_trusted_issuers=list(trusted), badge_fetch_timeout_seconds=2
    )


def write(tmp_path: Path, content: str | dict, name: str = "badge.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def refused(path: Path, settings: Settings) -> BadgeRefused:
    """The refusal `verify_badge` raises for `path` (fails the test if it verifies)."""
    with pytest.raises(BadgeRefused) as caught:
        verify_badge(path, settings)
    return caught.value
