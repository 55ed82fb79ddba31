"""Certificates of destruction: Ed25519 signing, verification, and the signing key file.

Pure code: no database.  The retention tests check certificates a real purge wrote.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kernel.canonical import canonical_json
from kernel.errors import CredxError, IntegrityFailure, InvalidInput
from kernel.signing import (
    ensure_signing_key,
    key_id,
    load_signing_key,
    parse_public_key,
    public_bytes,
    public_key_pem,
    signing_key_path,
)
from retention.certificates import (
    Certificate,
    DestroyedCopy,
    DestroyedFile,
    RetainedFile,
    sign_certificate,
    verify_certificate,
    write_certificate,
)

SHA_A = "a" * 64
SHA_B = "b" * 64


def certificate_for(key: Ed25519PrivateKey) -> Certificate:
    return Certificate(
        certificate_id="0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        agreement_id="tn-nccer-2024",
        agreement_version=2,
        vendor="nccer",
        states=("TN",),
        reason="retention ended on 2025-06-30",
        destroyed_at="2025-07-01T02:00:00+00:00",
        destroyed_by="scheduler:retention",
        rows_destroyed=1250,
        rejected_rows_destroyed=7,
        files=(
            DestroyedFile(
                delivery_id=3,
                original_name="nccer-2024-05-01.csv",
                sha256=SHA_A,
                size=4096,
                blob_id="0123456789abcdef0123456789abcdef",
                copies=(
                    DestroyedCopy(
                        delivery_id=1,
                        blob_id="fedcba9876543210fedcba9876543210",
                        status="quarantined",
                    ),
                ),
            ),
        ),
        files_retained=(
            RetainedFile(
                delivery_id=4,
                original_name="Jóse's multistate.csv",
                sha256=SHA_B,
                size=10,
                reason="still covered by agreement la-nccer-2025",
            ),
        ),
        signing_key_id=key_id(public_bytes(key.public_key())),
        readable_copies_remaining=0,
    )


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def issued(key, tmp_path) -> Path:
    return write_certificate(sign_certificate(certificate_for(key), key), tmp_path)


def trusted(key: Ed25519PrivateKey) -> bytes:
    return public_bytes(key.public_key())


def rewrite(path: Path, change) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def leaf_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every leaf of a JSON value, as a path of keys and indexes."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*prefix, i))]
    return [prefix]


def edited(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return value + "0" if value and value[-1] != "0" else value + "1"


def test_a_certificate_verifies_and_says_what_was_destroyed(key, issued):
    assert stat.S_IMODE(issued.stat().st_mode) == 0o600
    assert issued.name == "destruction-tn-nccer-2024-2025-07-01-0f1e2d3c.json"
    cert = verify_certificate(issued, trusted(key))
    assert cert == certificate_for(key)
    assert cert.files[0].sha256 == SHA_A and cert.rows_destroyed == 1250
    assert cert.method.startswith("crypto-shredding")


def test_anyone_can_check_it_with_the_documented_recipe(key, issued):
    document = json.loads(issued.read_text(encoding="utf-8"))
    signed = json.dumps(
        document["certificate"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_key"]))
    public.verify(base64.b64decode(document["signature"]), signed)  # raises if not genuine
    assert signed == canonical_json(document["certificate"])


def test_every_single_field_edit_is_detected(key, issued):
    original = json.loads(issued.read_text(encoding="utf-8"))
    paths = leaf_paths(original["certificate"])
    assert {p[0] for p in paths} == set(Certificate.model_fields) and len(paths) == 27
    for path in paths:
        document = copy.deepcopy(original)
        holder = document["certificate"]
        for step in path[:-1]:
            holder = holder[step]
        holder[path[-1]] = edited(holder[path[-1]])
        issued.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(IntegrityFailure, match="signature does not match"):
            verify_certificate(issued, trusted(key))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["certificate"].pop("files_retained"),
        lambda d: d["certificate"].update(extra="added"),
        lambda d: d["certificate"]["files"].append(d["certificate"]["files"][0]),
        lambda d: d["certificate"]["files"].clear(),
        lambda d: d["certificate"].update(rows_destroyed=1250.0),
    ],
    ids=["field removed", "field added", "file added", "files removed", "int made float"],
)
def test_structural_edits_are_detected(key, issued, change):
    rewrite(issued, change)
    with pytest.raises(IntegrityFailure):
        verify_certificate(issued, trusted(key))


def test_an_edited_signature_is_detected(key, issued):
    def flip(document: dict) -> None:
        raw = bytearray(base64.b64decode(document["signature"]))
        raw[10] ^= 0x01
        document["signature"] = base64.b64encode(bytes(raw)).decode()

    rewrite(issued, flip)
    with pytest.raises(IntegrityFailure, match="signature does not match"):
        verify_certificate(issued, trusted(key))
    rewrite(issued, lambda d: d.update(signature="not base64!"))
    with pytest.raises(IntegrityFailure, match="signature is damaged"):
        verify_certificate(issued, trusted(key))


def test_a_swapped_key_is_refused_even_with_a_matching_signature(key, issued, tmp_path):
    forger = Ed25519PrivateKey.generate()
    rewrite(issued, lambda d: d.update(public_key=base64.b64encode(trusted(forger)).decode()))
    with pytest.raises(IntegrityFailure, match="not by the trusted key"):
        verify_certificate(issued, trusted(key))
    # a complete forgery, consistently signed with the forger's own key
    forged = certificate_for(forger).model_copy(update={"rows_destroyed": 9999})
    path = write_certificate(sign_certificate(forged, forger), tmp_path / "forged")
    with pytest.raises(IntegrityFailure, match="not by the trusted key"):
        verify_certificate(path, trusted(key))
    assert verify_certificate(path, trusted(forger)).rows_destroyed == 9999


def test_reformatting_is_not_an_edit_but_a_repeated_key_is_refused(key, issued):
    document = json.loads(issued.read_text(encoding="utf-8"))
    issued.write_text(json.dumps(document, indent=8), encoding="utf-8")
    assert verify_certificate(issued, trusted(key)).rows_destroyed == 1250
    text = issued.read_text(encoding="utf-8")
    # a second "rows_destroyed" a naive reader might see first; the last one is the signed one
    issued.write_text(text.replace('"rows_destroyed"', '"rows_destroyed": 1, "rows_destroyed"'))
    with pytest.raises(IntegrityFailure, match="not a credx certificate"):
        verify_certificate(issued, trusted(key))


@pytest.mark.parametrize("content", [b"", b"{}", b"[1]", b"\xff\xfe", b'{"certificate": 1}'])
def test_a_file_that_is_no_certificate_is_refused(key, tmp_path, content):
    path = tmp_path / "junk.json"
    path.write_bytes(content)
    with pytest.raises(IntegrityFailure, match="not a credx certificate"):
        verify_certificate(path, trusted(key))


def test_the_signing_key_is_made_once_private_and_never_overwritten(tmp_path):
    keys = tmp_path / "keys"
    first = ensure_signing_key(keys)
    path = signing_key_path(keys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    content = path.read_bytes()
    again = ensure_signing_key(keys)
    assert trusted(again) == trusted(first) and path.read_bytes() == content
    assert [p.name for p in keys.iterdir()] == [path.name]  # no temporary file left behind


def test_a_signing_key_others_can_read_is_refused(tmp_path):
    ensure_signing_key(tmp_path)
    os.chmod(signing_key_path(tmp_path), 0o640)
    with pytest.raises(CredxError, match="chmod 600"):
        ensure_signing_key(tmp_path)
    assert load_signing_key(tmp_path / "elsewhere") is None


def test_a_published_key_is_read_from_pem_or_raw_base64(key):
    raw = trusted(key)
    assert parse_public_key(public_key_pem(key).encode()) == raw
    assert parse_public_key(base64.b64encode(raw) + b"\n") == raw
    for bad in (b"hello", base64.b64encode(raw[:31]), b"-----BEGIN PUBLIC KEY-----\nxx\n"):
        with pytest.raises(InvalidInput):
            parse_public_key(bad)


def test_signing_refuses_a_certificate_naming_another_key(key):
    with pytest.raises(ValueError, match="different signing key"):
        sign_certificate(certificate_for(key), Ed25519PrivateKey.generate())
