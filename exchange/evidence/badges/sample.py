"""A sample digital badge for `credx demo`: a throwaway issuer signs an OB 3.0 credential.

The issuer is a `did:key` made on the spot, so the demo needs no network and no
trusted-issuer setting; the badge is verified exactly as an upload would be.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kernel.clock import utcnow

from .proofs import JCS_SUITE, jcs_hash_data


def write_sample_badges(directory: Path) -> tuple[Path, Path]:
    """(a signed badge, the same badge with the achievement renamed) as JSON files."""
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    multikey = "z" + base58.b58encode(b"\xed\x01" + raw).decode()
    issuer = f"did:key:{multikey}"
    now = utcnow().replace(microsecond=0)
    credential: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Demo certification body"},
        "validFrom": (now - timedelta(days=60)).isoformat(),
        "validUntil": (now + timedelta(days=3 * 365)).isoformat(),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "studentId",
                            "hashed": False, "identityHash": "DEMO-0001"}],
            "achievement": {"id": "urn:example:demo-a-plus", "type": ["Achievement"],
                            "name": "IT Fundamentals (demo)"},
        },
    }  # fmt: skip
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": JCS_SUITE,
        "created": now.isoformat(),
        "verificationMethod": f"{issuer}#{multikey}",
        "proofPurpose": "assertionMethod",
    }
    signature = private.sign(jcs_hash_data(credential, proof))
    signed = dict(
        credential, proof=dict(proof, proofValue="z" + base58.b58encode(signature).decode())
    )
    directory.mkdir(parents=True, exist_ok=True)
    good = directory / "sample-badge.json"
    good.write_text(json.dumps(signed, indent=2), encoding="utf-8")
    signed["credentialSubject"]["achievement"]["name"] = "Network Security Expert (demo)"
    altered = directory / "sample-badge-altered.json"
    altered.write_text(json.dumps(signed, indent=2), encoding="utf-8")
    return good, altered
