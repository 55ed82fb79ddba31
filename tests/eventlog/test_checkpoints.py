"""Signed checkpoints against real logs: kept history, truncation, rewrite, reset, wrong key."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from eventlog import merkle
from eventlog.checkpoints import check_log, make_checkpoint, read_checkpoint, write_checkpoint
from eventlog.log import EventLog
from exchange.events import ExchangeEvent
from kernel.database import session_scope
from kernel.errors import IntegrityFailure, InvalidInput
from kernel.signing import ensure_signing_key, public_bytes
from tests.eventlog.guard import disable_guard


def record(app, count: int, start: int = 0) -> None:
    with session_scope(app.engine) as session:
        log = EventLog(session)
        for n in range(start, start + count):
            log.record(ExchangeEvent.DELIVERY_RECEIVED, f"delivery:{n}", "test", n=n)


@pytest.fixture
def key(app):
    return ensure_signing_key(app.keyring.directory)


@pytest.fixture
def kept(app, key, tmp_path):
    """Five entries, then a checkpoint the privacy office keeps, then more entries."""
    record(app, 5)
    with session_scope(app.engine) as session:
        signed = make_checkpoint(session, key, "test")
    path = tmp_path / "checkpoint.json"
    write_checkpoint(signed, path)
    record(app, 3, start=5)
    return path


def check(app, key, path):
    head = read_checkpoint(path, public_bytes(key.public_key()))
    with session_scope(app.engine) as session:
        return check_log(session, head)


def test_a_checkpoint_signs_the_merkle_root_of_the_log_and_is_logged(app, key, kept):
    document = json.loads(kept.read_text())
    head = document["checkpoint"]
    assert head["tree_size"] == 5 and head["kind"] == "credx/log-checkpoint/v1"
    with session_scope(app.engine) as session:
        hashes = [e.hash for e in EventLog(session).entries()]
        logged = EventLog(session).for_subject("log:checkpoint:5")
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in hashes[:5]]
    assert head["root_hash"] == merkle.root(leaves).hex()
    assert json.loads(logged[0].payload)["root_hash"] == head["root_hash"]


def test_a_log_that_only_grew_upholds_the_checkpoint_with_a_consistency_proof(app, key, kept):
    result = check(app, key, kept)
    assert result.ok and result.entries == 9  # 5 + the checkpoint's own event + 3
    proof = [bytes.fromhex(p) for p in result.consistency_proof]
    old, new = bytes.fromhex(result.checkpoint.root_hash), bytes.fromhex(result.current_root)
    assert merkle.verify_consistency(5, 9, old, new, proof)


def test_truncation_is_named(app, key, kept):
    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("DELETE FROM events WHERE seq > 3"))
    result = check(app, key, kept)
    assert not result.ok and "truncated" in result.problem and "3 entries" in result.problem


def test_a_quietly_reset_chain_is_caught_though_the_chain_itself_verifies(app, key, kept):
    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("DELETE FROM events"))
    record(app, 9)  # a fresh, internally consistent chain of the same length
    with session_scope(app.engine) as session:
        assert EventLog(session).verify() == (9, None)
    result = check(app, key, kept)
    assert not result.ok and "rewritten or the chain was reset" in result.problem


def test_an_edited_entry_is_named_by_its_sequence_number(app, key, kept):
    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("UPDATE events SET actor = 'mallory' WHERE seq = 2"))
    result = check(app, key, kept)
    assert not result.ok and result.first_bad_seq == 2 and "entry 2" in result.problem


def test_a_checkpoint_from_another_key_or_edited_after_signing_is_refused(app, key, kept, tmp_path):
    other = Ed25519PrivateKey.generate()
    with pytest.raises(IntegrityFailure, match="not by this installation's signing key"):
        read_checkpoint(kept, public_bytes(other.public_key()))
    document = json.loads(kept.read_text())
    document["checkpoint"]["tree_size"] = 4
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    with pytest.raises(IntegrityFailure, match="signature does not match"):
        read_checkpoint(edited, public_bytes(key.public_key()))
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(IntegrityFailure, match="not a credx log checkpoint"):
        read_checkpoint(tmp_path / "junk.json", public_bytes(key.public_key()))


def test_no_checkpoint_over_a_broken_chain_and_none_overwritten(app, key, kept):
    with session_scope(app.engine) as session:
        signed = make_checkpoint(session, key, "test")
    before = kept.read_bytes()
    with pytest.raises(InvalidInput, match="never overwritten"):
        write_checkpoint(signed, kept)
    assert kept.read_bytes() == before
    with app.engine.begin() as connection:
        disable_guard(connection)
        connection.execute(text("UPDATE events SET subject = 'x' WHERE seq = 1"))
    with session_scope(app.engine) as session, pytest.raises(IntegrityFailure, match="entry 1"):
        make_checkpoint(session, key, "test")
