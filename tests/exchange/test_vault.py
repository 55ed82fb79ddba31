"""The vault on real SQLite and PostgreSQL with the local blob store."""

import hashlib
import os

import pytest

from exchange.models import StoredBlob
from kernel.errors import CredxError, IntegrityFailure


def store_bytes(app, session, payload: bytes) -> StoredBlob:
    return app.vault(session).put([payload[i : i + 4096] for i in range(0, len(payload), 4096)])


def test_put_and_open_round_trip_with_hash_and_size(app, session):
    payload = os.urandom(3 * (1 << 20) + 17)  # several segments
    blob = store_bytes(app, session, payload)
    assert blob.sha256 == hashlib.sha256(payload).hexdigest() and blob.size == len(payload)
    assert app.vault(session).read_bytes(blob.id) == payload
    on_disk = (app.store.root / blob.store_key).read_bytes()
    assert payload[:64] not in on_disk


def test_a_flipped_byte_in_the_stored_blob_is_detected(app, session):
    blob = store_bytes(app, session, b"candidate,first_name\n1,Jos\xc3\xa9\n" * 100)
    path = app.store.root / blob.store_key
    tampered = bytearray(path.read_bytes())
    tampered[len(tampered) // 2] ^= 0x80
    path.write_bytes(bytes(tampered))
    with pytest.raises(IntegrityFailure, match="altered"):
        app.vault(session).read_bytes(blob.id)


def test_a_swapped_blob_file_is_detected(app, session):
    first = store_bytes(app, session, b"first file")
    second = store_bytes(app, session, b"second file")
    root = app.store.root
    (root / first.store_key).write_bytes((root / second.store_key).read_bytes())
    with pytest.raises(IntegrityFailure):
        app.vault(session).read_bytes(first.id)


def test_rotation_rewraps_keys_without_touching_blobs(app, session):
    blobs = [store_bytes(app, session, f"file {n}".encode()) for n in range(3)]
    before = {b.id: (app.store.root / b.store_key).read_bytes() for b in blobs}
    old_key = app.keyring.active_id()
    new_key, count = app.vault(session).rotate_master_key()
    assert count == 3 and new_key != old_key and app.keyring.active_id() == new_key
    for blob in blobs:
        session.refresh(blob)
        assert blob.master_key_id == new_key
        assert (app.store.root / blob.store_key).read_bytes() == before[blob.id]
        assert app.vault(session).read_bytes(blob.id).startswith(b"file ")
    # the old master key no longer opens anything: move it away and everything still reads
    os.rename(app.keyring.directory / f"{old_key}.key", app.keyring.directory / "retired.bak")
    assert app.vault(session).read_bytes(blobs[0].id) == b"file 0"


def test_a_shredded_blob_cannot_be_read_even_from_a_backup(app, session):
    blob = store_bytes(app, session, b"student data")
    backup = (app.store.root / blob.store_key).read_bytes()
    app.vault(session).shred(blob.id)
    assert not app.store.exists(blob.store_key)
    (app.store.root / blob.store_key).write_bytes(backup)  # restore the ciphertext from backup
    with pytest.raises(CredxError, match="crypto-shredded"):
        app.vault(session).read_bytes(blob.id)


def test_check_reads_a_blob_whole_and_names_what_is_wrong(app, session):
    vault = app.vault(session)
    kept, removed, altered = (store_bytes(app, session, f"file {n}".encode()) for n in range(3))
    (app.store.root / removed.store_key).unlink()
    path = app.store.root / altered.store_key
    path.write_bytes(path.read_bytes()[:-1] + bytes([path.read_bytes()[-1] ^ 1]))
    assert vault.check(kept.id) is None
    assert vault.check(removed.id) == f"blob {removed.id} is missing from the blob store"
    assert "altered" in vault.check(altered.id)
    ids, total = vault.live_blob_ids()
    assert total == 3 and sorted(ids) == sorted(b.id for b in (kept, removed, altered))
    vault.shred(removed.id)
    sample, total = vault.live_blob_ids(sample=1)
    assert total == 2 and len(sample) == 1 and sample[0] in {kept.id, altered.id}
