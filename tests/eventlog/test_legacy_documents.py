"""Documents signed and entries chained before credx adopted RFC 8785 still verify, byte for byte.

The fixtures were written by the code as it was (sorted-keys `json.dumps`),
with non-ASCII text, a float and nested values in event details.
"""

import base64
import json
from pathlib import Path

import pytest

from eventlog.chain import ChainEntry, entry_hash, find_break
from eventlog.checkpoints import read_checkpoint
from kernel.canonical import canonical_json
from kernel.errors import IntegrityFailure
from retention.certificates import verify_certificate

FIXTURES = Path(__file__).parent / "fixtures"
PUBLIC_KEY = base64.b64decode("A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")


def legacy_json(value) -> bytes:
    """The rule the first documents were signed under."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def test_legacy_chain_entries_verify_unchanged():
    rows = json.loads((FIXTURES / "legacy-chain.json").read_text())
    entries = [ChainEntry(**row) for row in rows]
    assert find_break(entries) is None
    assert [entry_hash(e) for e in entries] == [e.hash for e in entries]


def test_legacy_certificate_verifies_and_its_bytes_are_unchanged():
    path = FIXTURES / "legacy-certificate.json"
    certificate = verify_certificate(path, PUBLIC_KEY)
    assert certificate.files[0].original_name == "résultats-ñ.csv"
    body = json.loads(path.read_text())["certificate"]
    assert canonical_json(body) == legacy_json(body)


def test_legacy_checkpoint_verifies():
    assert read_checkpoint(FIXTURES / "legacy-checkpoint.json", PUBLIC_KEY).tree_size == 3


def test_a_legacy_certificate_edited_after_signing_is_refused(tmp_path):
    document = json.loads((FIXTURES / "legacy-certificate.json").read_text())
    document["certificate"]["rows_destroyed"] += 1
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    with pytest.raises(IntegrityFailure, match="signature does not match"):
        verify_certificate(edited, PUBLIC_KEY)


def test_rfc8785_differs_from_sorted_keys_where_it_must():
    # keys ordered by UTF-16 code units, numbers as ECMAScript prints them
    value = {"\ue000": 1, "\U0001f600": 2, "n": 1e21}
    assert canonical_json(value) != legacy_json(value)
    assert canonical_json({"n": 1e21}) == b'{"n":1e+21}'
