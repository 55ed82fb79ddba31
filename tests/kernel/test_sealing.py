"""Bulk sealing (`kernel.sealing.seal_many`) makes the tokens `seal` makes: the ORM's read
path opens them, and re-sent rows keep the digest stored rows carry."""

from __future__ import annotations

import json

import pytest

from credx.app import App
from exchange.sealed_rows import _digests
from kernel import sealing


@pytest.fixture
def keys(app: App):
    return sealing.keys_of(app.engine)  # registered: the read path opens with these


VALUES = ["Zoë", None, 'O\'Brien "the" \\ second', "2001-02-03", "  padded  ", "", "ab", "abc"]


def test_bulk_tokens_open_like_single_ones(keys):
    tokens = sealing.seal_many(keys, "agreement:a", "first_name", VALUES)
    key_id, cipher = keys.key_for("agreement:a")
    single = sealing.seal(cipher, key_id, "first_name", "Zoë")
    assert [t is None for t in tokens] == [v is None for v in VALUES]
    assert all(t.startswith(f"s1.{key_id}.") for t in tokens if t is not None)
    assert not any("=" in t or "+" in t or "/" in t for t in tokens if t is not None)
    opened = [None if t is None else sealing.unseal(t, "first_name") for t in tokens]
    assert opened == VALUES
    assert sealing.unseal(single, "first_name") == "Zoë"
    with pytest.raises(sealing.KeyDestroyed):  # the column is the associated data
        sealing.unseal(tokens[0], "last_name")  # type: ignore[arg-type]


def test_every_value_gets_its_own_nonce(keys):
    tokens = sealing.seal_many(keys, "agreement:a", "last_name", ["same"] * 2000)
    assert len({t.rpartition(".")[2][:16] for t in tokens if t is not None}) == 2000
    assert sealing.seal_many(keys, "agreement:a", "last_name", [None, None]) == [None, None]


def test_row_digests_match_the_json_form_stored_rows_carry(keys):
    columns = [["Zoë", "a", None], [None, "b", "c"], ["2001-02-03", "x\\y\u2028\n", '"q"']]
    stored = [
        keys.blind_index(json.dumps([None if v is None else str(v) for v in row]).encode().hex())
        for row in zip(*columns, strict=True)
    ]
    assert _digests(keys, columns) == stored
    assert keys.blind_indexes([" abc ", None, "  ", "ABC"]) == [
        keys.blind_index("abc"), None, None, keys.blind_index("abc")
    ]  # fmt: skip


@pytest.mark.parametrize("key_length", [0, 32, 64, 65, 100])
def test_bulk_hmac_is_rfc_2104_hmac_sha256(key_length):
    import hmac
    import os

    key = os.urandom(key_length)
    mac = sealing.hmac_sha256(key)
    for message in (b"", b"abc", os.urandom(1000)):
        assert mac(message) == hmac.digest(key, message, "sha256")
