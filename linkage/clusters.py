"""From scored pairs to persons: greedy merging under rules, and the review queue.

Edges are merged strongest first (union-find).  Some pairs are never merged
whatever their score, and go to review with the rule's name instead
(`VETOES`): a pair that agrees on an identifier (state student id, exact or
one edit apart, or a vendor's candidate id) but on fewer than two of first
name, last name and birth date (`id_conflict`: sequential numbering puts
classmates one edit apart, and a clerk can type one child's id on a
sibling's record); first names that disagree entirely (twins share surname,
birth date, home and school: `first_name_differs`); birth dates that
disagree entirely (a parent and a child of the same name:
`birth_date_differs`).  A merge is also refused, and the pair queued, when it
would put two different state student ids in one person, grow a person beyond
`max_cluster_size` records, or join records a reviewer said are different
people (cannot-link).  Must-link decisions and deterministic rules (same
candidate id within one vendor, with a name and birth date that agree) merge
first and unconditionally.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from linkage.normalise import Prepared
from linkage.rules import (
    DIFFERS,
    STATE_ID_EXACT,
    candidate_groups,
    identity_agreements,
    identity_disagreements,
    ids_compatible,
    middle_initials,
    middle_names_conflict,
    vetoes,
)

REVIEW_COLUMNS = ["record_id_l", "record_id_r", "match_probability", "match_weight", "reason"]


@dataclass
class Constraints:
    """Reviewers' decisions, as record-id pairs."""

    must_link: list[tuple[str, str]] = field(default_factory=list)
    cannot_link: list[tuple[str, str]] = field(default_factory=list)
    # incremental linking: records already in a person; two persons never merge here
    anchors: dict[str, str] = field(default_factory=dict)


@dataclass
class Clustering:
    clusters: dict[str, str]
    review_pairs: pd.DataFrame
    flagged: list[str]
    # scored pairs that ended in one person, and the sum of their match probabilities
    merged_pairs: int = 0
    merged_mass: float = 0.0


_NONE: frozenset[str] = frozenset()


class _Components:
    """Union-find carrying each component's size, state ids, earlier person and
    forbidden partners.  The sets are kept only for components that have any
    (a million records must not cost a million empty sets)."""

    def __init__(self, frame: pd.DataFrame, anchors: dict[str, str], check_ids: bool) -> None:
        ids = frame["record_id"].tolist()
        self.parent = {i: i for i in ids}
        self.size = dict.fromkeys(ids, 1)
        ssid = frame["state_student_id"].tolist() if check_ids else [None] * len(ids)
        self.ssids = {i: {s} for i, s in zip(ids, ssid, strict=True) if s}
        self.persons = {i: {p} for i, p in anchors.items()}
        self.forbidden: dict[str, set[str]] = {}

    def find(self, node: str) -> str:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def forbid(self, a: str, b: str) -> None:
        self.forbidden.setdefault(a, set()).add(b)
        self.forbidden.setdefault(b, set()).add(a)

    def refusal(self, a: str, b: str, max_size: int) -> str | None:
        """Why roots a and b must not merge, or None."""
        if b in self.forbidden.get(a, _NONE):
            return "cannot_link"
        if len(self.persons.get(a, _NONE) | self.persons.get(b, _NONE)) > 1:
            return "two_persons"
        if not ids_compatible(self.ssids.get(a, _NONE), self.ssids.get(b, _NONE)):
            return "two_state_ids"
        if self.size[a] + self.size[b] > max_size:
            return "cluster_size"
        return None

    def union(self, a: str, b: str) -> None:
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size.pop(b)
        for sets in (self.ssids, self.persons):
            if b in sets:
                sets.setdefault(a, set()).update(sets.pop(b))
        if b in self.forbidden:
            partners = self.forbidden.pop(b)
            self.forbidden.setdefault(a, set()).update(partners)
            for other in partners:  # keep forbidden sets pointing at current roots
                self.forbidden[other].discard(b)
                self.forbidden[other].add(a)


def _factorised(prepared: Prepared, column: str) -> tuple[np.ndarray, Any]:
    """A column's (codes per row, -1 for missing; distinct values): normalising's, when it
    made them for these rows."""
    known = prepared.codes.get(column)
    if known is not None and len(known[0]) == len(prepared.frame):
        return known
    return pd.factorize(prepared.frame[column], use_na_sentinel=True)


def _codes(prepared: Prepared, column: str) -> np.ndarray:
    return _factorised(prepared, column)[0]


def _deterministic_edges(prepared: Prepared, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Same candidate id within one source (and state), when the two records also agree
    exactly on two of formal first name, last name and birth date: a star per group
    (vectorised), as row positions in `frame` (hub, spoke).  A candidate id shared by
    records that do not is left to scoring (and to `id_conflict`).

    `frame` is sorted by record id, so each group's first row is its smallest id.
    """
    rows = np.flatnonzero(group >= 0)
    if not len(rows):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    _, first_row, inverse = np.unique(group[rows], return_index=True, return_inverse=True)
    first = rows[first_row[inverse]]
    agree = np.zeros(len(rows), dtype=np.int64)
    for column in ("first_name_key", "last_name", "birth_date"):
        codes = _codes(prepared, column)
        agree += (codes[rows] >= 0) & (codes[rows] == codes[first])
    spokes = (rows != first) & (agree >= 2)
    return first[spokes].astype(np.int64), rows[spokes].astype(np.int64)


def _deterministic_state_ids(edges: pd.DataFrame, veto: np.ndarray) -> pd.DataFrame:
    """Same state student id, no rule against it, and two of first name, last name and
    birth date agreeing at some level: certain."""
    certain = (
        (edges["gamma_state_student_id"].to_numpy() == STATE_ID_EXACT)
        & (identity_agreements(edges) >= 2)
        & (veto == None)  # noqa: E711  (elementwise on an object array)
    )
    if certain.any():
        edges = edges.copy()
        edges.loc[certain, "match_probability"] = 1.0
    return edges


def _anchor_edges(anchors: dict[str, str]) -> list[tuple[str, str]]:
    first: dict[str, str] = {}
    edges = []
    for record, person in sorted(anchors.items()):
        if person in first:
            edges.append((first[person], record))
        else:
            first[person] = record
    return edges


def _known(pairs: list[tuple[str, str]], rep: dict[str, str]) -> list[tuple[str, str]]:
    return [(rep[a], rep[b]) for a, b in pairs if a in rep and b in rep and rep[a] != rep[b]]


def _other_state(prepared: Prepared, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    state = _codes(prepared, "state")
    return (state[left] >= 0) & (state[right] >= 0) & (state[left] != state[right])


def cluster_edges(
    prepared: Prepared,
    edges: pd.DataFrame,
    constraints: Constraints,
    *,
    params,
    unreliable: AbstractSet[str] = frozenset(),
) -> Clustering:
    """Merge edges at or above the threshold under the rules; queue the rest.

    The greedy merge (strongest edge first, each merge checked against the rules) is
    exact but runs in Python, an edge at a time.  Most persons need none of it: a
    connected component of the strong and forced edges that breaks no rule as a whole
    (one state id, no first-name conflict, no reviewer's "different", one earlier
    person, not too large) breaks none part by part either, so the greedy merge would
    join all of it.  Those components are labelled at once (vectorised); only the
    others go through `_merge`.  The result is the same, at a million records in seconds.
    """
    frame = prepared.frame
    # no decisions (a first run): skip building the id -> representative dict
    has_constraints = constraints.anchors or constraints.cannot_link or constraints.must_link
    rep = prepared.representative if has_constraints else {}
    anchors = {rep[r]: p for r, p in constraints.anchors.items() if r in rep}
    cannot = _known(constraints.cannot_link, rep)
    decided = _known(constraints.must_link, rep) + _anchor_edges(anchors)
    ids = frame["record_id"].to_numpy(dtype=object)
    # record id -> position, for the short lists (constraints); edges carry their positions
    position = dict(zip(ids.tolist(), range(len(ids)), strict=True)) if has_constraints else {}
    candidate = candidate_groups(*(_codes(prepared, c) for c in ("source", "source_person_id",
                                                                   "state")))  # fmt: skip
    same_l, same_r = _deterministic_edges(prepared, candidate)
    pos_l, pos_r = (edges[c].to_numpy(dtype=np.int64) for c in ("pos_l", "pos_r"))
    edges = edges[~_other_state(prepared, pos_l, pos_r)]
    pos_l, pos_r = (edges[c].to_numpy(dtype=np.int64) for c in ("pos_l", "pos_r"))
    names = frame[["first_name", "middle_name", "last_name"]].assign(
        middle_initial=middle_initials(*_factorised(prepared, "middle_name"))
    )
    veto = vetoes(edges, candidate, unreliable, names=names)
    check_ids = "state_student_id" not in unreliable
    # below the review band only for a shared id: kept if it is an id conflict to review.
    # A pair the names and birth date already tell apart (two of the three disagree
    # entirely: siblings), a vetoed pair whose state ids differ too (twins, each with
    # an id), or first names that differ beside middle names that differ too (twins,
    # each named twice) asks a reviewer nothing, unless an id ties it
    ids_differ = check_ids & (edges["gamma_state_student_id"].to_numpy() == DIFFERS)
    # one id on both is a question (a sibling's id typed on the form); ids one edit apart
    # are not (twins numbered in sequence)
    ids_tie = edges["gamma_state_student_id"].to_numpy() == STATE_ID_EXACT
    two_given_names = (
        (veto == "first_name_differs") & ~ids_tie & middle_names_conflict(names, pos_l, pos_r)
    )
    settled = (veto != "id_conflict") & (
        (identity_disagreements(edges, unreliable) >= 2)
        | ((veto != None) & ids_differ)  # noqa: E711
        | two_given_names
    )
    keep = (
        (edges["match_probability"].to_numpy(dtype=float) >= params.review_lower) & ~settled
    ) | (veto == "id_conflict")
    edges, veto = edges[keep], veto[keep]
    edges = _deterministic_state_ids(edges, veto)
    left, right = (edges[c].to_numpy(dtype=np.int64) for c in ("pos_l", "pos_r"))
    vetoed = veto != None  # noqa: E711  (elementwise on an object array)
    strong = (edges["match_probability"].to_numpy(dtype=float) >= params.match_threshold) & ~vetoed
    forced_l = np.concatenate([[position[a] for a, _ in decided], same_l]).astype(np.int64)
    forced_r = np.concatenate([[position[b] for _, b in decided], same_r]).astype(np.int64)
    label = _components(
        len(ids),
        np.concatenate([left[strong], forced_l]),
        np.concatenate([right[strong], forced_r]),
    )
    dirty = _dirty(prepared, label, anchors, cannot, position, params, check_ids)
    in_dirty = dirty[label]
    comps = _Components(
        frame[in_dirty], {r: p for r, p in anchors.items() if in_dirty[position[r]]}, check_ids
    )
    for a, b in cannot:
        if in_dirty[position[a]] and in_dirty[position[b]]:
            comps.forbid(a, b)
    for at_a, at_b in zip(forced_l.tolist(), forced_r.tolist(), strict=True):
        if in_dirty[at_a]:
            ra, rb = comps.find(ids[at_a]), comps.find(ids[at_b])
            if ra != rb:
                comps.union(ra, rb)
    greedy = in_dirty[left] & in_dirty[right] & ~vetoed
    review, flagged = _merge(comps, _strongest_first(edges[greedy]), params)
    cluster_of = _labels(ids, label, in_dirty, comps)
    outside = ~greedy & ~strong  # uncertain or vetoed edges outside the greedy part
    apart = cluster_of[left[outside]] != cluster_of[right[outside]]
    rest = edges[outside][apart]
    reasons = np.where(vetoed[outside][apart], veto[outside][apart], "uncertain")
    review += [
        (*row[:2], float(row[2]), float(row[3]), reason)
        for row, reason in zip(
            rest[REVIEW_COLUMNS[:4]].itertuples(index=False, name=None),
            reasons.tolist(),
            strict=True,
        )
    ]
    flagged.update(
        r for r, reason in zip(rest["record_id_l"], reasons, strict=True) if reason != "uncertain"
    )
    flagged.update(
        r for r, reason in zip(rest["record_id_r"], reasons, strict=True) if reason != "uncertain"
    )
    together = cluster_of[left] == cluster_of[right]
    clustering = _finish(prepared, ids, cluster_of, review, flagged, cannot)
    clustering.merged_pairs = int(together.sum())
    clustering.merged_mass = float(edges["match_probability"].to_numpy(dtype=float)[together].sum())
    return clustering


def _strongest_first(edges: pd.DataFrame) -> pd.DataFrame:
    return edges.sort_values(
        ["match_probability", "record_id_l", "record_id_r"], ascending=[False, True, True]
    )


def _components(count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of `count` nodes: each node's label is the smallest node of
    its component (hook roots to the smaller label, then compress, until stable)."""
    label = np.arange(count)
    while True:
        low = np.minimum(label[left], label[right])
        hooked = label.copy()
        np.minimum.at(hooked, label[left], low)
        np.minimum.at(hooked, label[right], low)
        while not np.array_equal(hooked[hooked], hooked):
            hooked = hooked[hooked]
        if np.array_equal(hooked, label):
            return label
        label = hooked


def _dirty(prepared, label, anchors, cannot, position, params, check_ids) -> np.ndarray:
    """Per component label: whether some rule could refuse a merge inside it."""
    dirty = np.bincount(label, minlength=len(label)) > params.max_cluster_size
    if check_ids:
        # the ids' codes from normalising when it made them (any coding of the ids will do)
        known = prepared.codes.get("state_student_id")
        ssid, _ = known or pd.factorize(prepared.frame["state_student_id"], use_na_sentinel=True)
        with_id = pd.DataFrame({"c": label[ssid >= 0], "s": ssid[ssid >= 0]}).drop_duplicates()
        ids_per = with_id.groupby("c").size()
        dirty[ids_per.index[ids_per.to_numpy() > 1]] = True
    if anchors:
        held = pd.DataFrame(
            {"c": label[[position[r] for r in anchors]], "p": list(anchors.values())}
        )
        persons = held.drop_duplicates().groupby("c").size()
        dirty[persons.index[persons.to_numpy() > 1]] = True
    if cannot:
        dirty[label[[position[r] for pair in cannot for r in pair]]] = True
    return dirty


def _labels(
    ids: np.ndarray, label: np.ndarray, in_dirty: np.ndarray, comps: _Components
) -> np.ndarray:
    """Each record's cluster id: the smallest record id of its cluster (`ids` are sorted,
    so the component label, its smallest position, names it)."""
    cluster_of = ids[label].copy()
    smallest: dict[str, str] = {}
    for record in ids[in_dirty]:  # ascending: the first record seen of a root is its smallest
        smallest.setdefault(comps.find(record), record)
    for at in np.flatnonzero(in_dirty):
        cluster_of[at] = smallest[comps.find(ids[at])]
    return cluster_of


def _merge(comps: _Components, edges: pd.DataFrame, params) -> tuple[list[tuple], set[str]]:
    review: list[tuple] = []
    flagged: set[str] = set()
    rows = edges[EDGE_FIELDS].itertuples(index=False, name=None)
    for left, right, prob, weight in rows:
        ra, rb = comps.find(left), comps.find(right)
        if ra == rb:
            continue
        reason = None
        if prob < params.match_threshold:
            reason = "uncertain"
        else:
            reason = comps.refusal(ra, rb, params.max_cluster_size)
        if reason is None:
            comps.union(ra, rb)
            continue
        review.append((left, right, float(prob), float(weight), reason))
        if reason != "uncertain":
            flagged.update((left, right))
    return review, flagged


EDGE_FIELDS = ["record_id_l", "record_id_r", "match_probability", "match_weight"]


def _cluster_pair(ids: np.ndarray, cluster_of: np.ndarray, a: str, b: str) -> tuple[str, str]:
    at = np.searchsorted(ids, np.array([a, b], dtype=object))
    return cluster_of[at[0]], cluster_of[at[1]]


def _finish(
    prepared: Prepared,
    ids: np.ndarray,
    cluster_of: np.ndarray,
    review: list[tuple],
    flagged,
    cannot: list[tuple[str, str]],
) -> Clustering:
    """Clusters per input record, and the review queue: one pair (the strongest) per two
    persons, none for two persons a reviewer already called different."""
    clusters = dict(
        zip(
            prepared.record_ids.tolist(),
            cluster_of[prepared.kept_position].tolist(),
            strict=True,
        )
    )
    pairs = pd.DataFrame(review, columns=REVIEW_COLUMNS)
    if len(pairs):  # a pair whose records ended up together after all is no longer a question
        # `ids` are sorted: a binary search finds the few queued records' rows
        at_l = np.searchsorted(ids, pairs["record_id_l"].to_numpy(dtype=object))
        at_r = np.searchsorted(ids, pairs["record_id_r"].to_numpy(dtype=object))
        one, other = cluster_of[at_l], cluster_of[at_r]
        low, high = np.minimum(one, other), np.maximum(one, other)
        answered = {tuple(sorted(_cluster_pair(ids, cluster_of, a, b))) for a, b in cannot}
        asked = np.array([(x, y) not in answered for x, y in zip(low, high, strict=True)])
        pairs = pairs.assign(_low=low, _high=high)[(one != other) & asked]
        pairs = _strongest_first(pairs).drop_duplicates(["_low", "_high"])
        pairs = pairs[REVIEW_COLUMNS].reset_index(drop=True)
    flagged_clusters = sorted({clusters[r] for r in flagged if r in clusters})
    return Clustering(clusters=clusters, review_pairs=pairs, flagged=flagged_clusters)
