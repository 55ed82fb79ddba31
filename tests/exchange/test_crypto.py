"""Streaming envelope encryption and the key ring, without a database."""

import io
import os
import stat

import pytest

from exchange import crypto
from kernel.errors import CredxError, IntegrityFailure

BLOB_ID = "0123456789abcdef0123456789abcdef"


def seal(plaintext: bytes, segment_size: int = 64) -> tuple[bytes, bytes]:
    key = crypto.new_data_key()
    chunks = [plaintext[i : i + 50] for i in range(0, len(plaintext), 50)] or [b""]
    return key, b"".join(crypto.encrypt_stream(key, BLOB_ID, chunks, segment_size))


def unseal(key: bytes, sealed: bytes) -> bytes:
    stream = io.BytesIO(sealed)
    header = crypto.read_header(stream)
    return b"".join(crypto.decrypt_stream(key, header, stream))


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 1000])
def test_round_trip_across_segment_boundaries(size):
    plaintext = os.urandom(size)
    key, sealed = seal(plaintext)
    assert unseal(key, sealed) == plaintext


def test_ciphertext_does_not_contain_the_plaintext():
    plaintext = b"Jose,Nguyen,2008-01-02," * 20
    _, sealed = seal(plaintext)
    assert b"Nguyen" not in sealed


@pytest.mark.parametrize("position", [0, 20, 40, 100, -1])
def test_any_flipped_byte_is_detected(position):
    key, sealed = seal(os.urandom(300))
    tampered = bytearray(sealed)
    tampered[position] ^= 0x01
    with pytest.raises(IntegrityFailure):
        unseal(key, bytes(tampered))


def test_dropping_the_last_segment_is_detected():
    key, sealed = seal(os.urandom(300))
    last_segment = (300 % 64) + crypto.TAG_SIZE
    with pytest.raises(IntegrityFailure, match="segment"):
        unseal(key, sealed[:-last_segment])


def test_wrong_data_key_fails():
    _, sealed = seal(b"secret")
    with pytest.raises(IntegrityFailure):
        unseal(crypto.new_data_key(), sealed)


def test_wrapped_key_is_bound_to_its_blob():
    master, data_key = crypto.new_data_key(), crypto.new_data_key()
    wrapped = crypto.wrap_key(master, BLOB_ID, data_key)
    assert crypto.unwrap_key(master, BLOB_ID, wrapped) == data_key
    with pytest.raises(IntegrityFailure):
        crypto.unwrap_key(master, "f" * 32, wrapped)


def test_keyring_creates_private_files_and_never_overwrites(tmp_path):
    ring = crypto.KeyRing(tmp_path / "keys")
    first, created = ring.ensure()
    again, created_again = ring.ensure()
    assert created and not created_again and first == again
    path = tmp_path / "keys" / f"{first}.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    second = ring.create()
    assert ring.active_id() == second and ring.key_ids() == [first, second]
    assert ring.get(first) != ring.get(second)


def test_keyring_refuses_a_key_file_others_can_read(tmp_path):
    ring = crypto.KeyRing(tmp_path / "keys")
    key_id = ring.create()
    os.chmod(tmp_path / "keys" / f"{key_id}.key", 0o644)
    with pytest.raises(CredxError, match="chmod 600"):
        ring.get(key_id)


def test_keyring_without_keys_says_to_run_init(tmp_path):
    with pytest.raises(CredxError, match="initialise the installation or restore") as caught:
        crypto.KeyRing(tmp_path / "none").active_id()
    assert "`credx " not in str(caught.value) and caught.value.hint == "run `credx init`"
