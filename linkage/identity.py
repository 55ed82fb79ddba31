"""Stable person ids across runs: clusters inherit ids by overlap with earlier persons.

Pure.  Each new cluster takes the earlier id it shares most records with
(largest overlaps first, ties by id, so the result does not depend on input
order); a cluster with no earlier records gets a fresh id.  An earlier id
that no cluster took is retired with an alias to the person that holds most
of its records: `merged` if that person also absorbed another id's records,
`split` if its records went to several persons.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field


def person_id(state: str, seed: str, taken: set[str]) -> str:
    """A deterministic id from the cluster's smallest record id (salted on collision)."""
    salt = 0
    while True:
        text = f"{state}\x1f{seed}\x1f{salt}".encode()
        candidate = "P" + hashlib.sha256(text).hexdigest()[:15].upper()
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        salt += 1


@dataclass
class Assignment:
    person_of_cluster: dict[str, str]
    new_persons: list[str] = field(default_factory=list)
    retired: dict[str, tuple[str, str]] = field(default_factory=dict)  # old -> (new, reason)
    merged: dict[str, list[str]] = field(default_factory=dict)  # surviving -> absorbed ids
    split: dict[str, list[str]] = field(default_factory=dict)  # earlier id -> persons now


def assign_ids(
    clusters: dict[str, str], previous: dict[str, str], *, state: str, existing: set[str]
) -> Assignment:
    """Person ids for `clusters` (record -> cluster) given `previous` (record -> person)."""
    overlap = Counter((clusters[r], p) for r, p in previous.items() if r in clusters)
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for (cluster, old), _count in sorted(
        overlap.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0])
    ):
        if cluster not in chosen and old not in used:
            chosen[cluster] = old
            used.add(old)
    taken = set(existing)
    result = Assignment(person_of_cluster=chosen)
    for cluster in sorted(set(clusters.values()) - set(chosen)):
        chosen[cluster] = person_id(state, cluster, taken)
        result.new_persons.append(chosen[cluster])
    _history(result, overlap, used)
    return result


def _history(result: Assignment, overlap: Counter, kept: set[str]) -> None:
    """Which earlier ids were merged into or split across today's persons."""
    spread: dict[str, Counter] = defaultdict(Counter)
    for (cluster, old), count in overlap.items():
        spread[old][result.person_of_cluster[cluster]] += count
    for old, persons in sorted(spread.items()):
        if len(persons) > 1:
            result.split[old] = sorted(persons)
        if old in kept:
            continue
        heir = sorted(persons.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        reason = "split" if len(persons) > 1 else "merged"
        result.retired[old] = (heir, reason)
        if reason == "merged":
            result.merged.setdefault(heir, []).append(old)
