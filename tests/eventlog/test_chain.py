"""The hash chain on literal entries: pure, no database."""

import hashlib
from dataclasses import replace

from eventlog.chain import GENESIS, ChainEntry, entry_hash, find_break
from kernel.canonical import canonical_text as canonical_json


def chain(length: int) -> list[ChainEntry]:
    entries, prev = [], GENESIS
    for seq in range(1, length + 1):
        draft = ChainEntry(seq, f"2026-01-0{seq}T00:00:00+00:00", "cli:ops", "test:thing:done",
                           f"thing:{seq}", canonical_json({"n": seq}), prev)  # fmt: skip
        entry = replace(draft, hash=entry_hash(draft))
        entries.append(entry)
        prev = entry.hash
    return entries


def test_hash_is_sha256_of_the_documented_canonical_json():
    entry = ChainEntry(1, "2026-01-01T00:00:00+00:00", "a", "b", "c", "{}", GENESIS)
    documented = (
        '{"action":"b","actor":"a","occurred_at":"2026-01-01T00:00:00+00:00","payload":"{}",'
        f'"prev_hash":"{GENESIS}","seq":1,"subject":"c"}}'
    )
    assert entry_hash(entry) == hashlib.sha256(documented.encode()).hexdigest()


def test_an_intact_chain_has_no_break():
    assert find_break(chain(5)) is None


def test_an_altered_payload_is_found_at_its_entry():
    entries = chain(5)
    entries[2] = replace(entries[2], payload=canonical_json({"n": 99}))
    problem = find_break(entries)
    assert problem.seq == 3 and "altered" in problem.problem


def test_a_rehashed_edit_breaks_the_next_link():
    entries = chain(5)
    edited = replace(entries[1], actor="cli:mallory")
    entries[1] = replace(edited, hash=entry_hash(edited))
    problem = find_break(entries)
    assert problem.seq == 3 and "prev_hash" in problem.problem


def test_a_deleted_entry_is_a_sequence_gap():
    entries = chain(5)
    del entries[1]
    assert find_break(entries).seq == 3
