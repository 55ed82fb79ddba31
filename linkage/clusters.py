"""From scored pairs to persons: greedy merging under rules, and the review queue.

Edges are merged strongest first (union-find).  A merge is refused, and the
pair queued for review instead, when it would put two different state
student ids in one person, grow a person beyond `max_cluster_size` records,
join records a reviewer said are different people (cannot-link), or rest on
a pair whose first names disagree entirely (twins share surname, birth date
and school).  Must-link decisions and deterministic rules (same candidate id
within one vendor) merge first and unconditionally.  Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from linkage.normalise import Prepared

REVIEW_COLUMNS = ["record_id_l", "record_id_r", "match_probability", "match_weight", "reason"]
FIRST_NAME_DIFFERS = 0  # Splink gamma of an "else" level (NULL is -1)
STATE_ID_EXACT = 2  # gamma of the state student id comparison's exact level


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


def _one_edit_apart(a: str, b: str) -> bool:
    """At most one substitution, insertion, deletion or adjacent transposition."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        i, j = ([*diffs, 0, 0])[:2]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _ids_compatible(left: set[str], right: set[str]) -> bool:
    """Two state student ids in one person are a conflict unless one is a typo of the other."""
    return all(_one_edit_apart(a, b) for a in left for b in right)


_NONE: frozenset[str] = frozenset()


class _Components:
    """Union-find carrying each component's size, state ids, earlier person and
    forbidden partners.  The sets are kept only for components that have any
    (a million records must not cost a million empty sets)."""

    def __init__(self, frame: pd.DataFrame, anchors: dict[str, str]) -> None:
        ids = frame["record_id"].tolist()
        self.parent = {i: i for i in ids}
        self.size = dict.fromkeys(ids, 1)
        ssid = frame["state_student_id"].tolist()
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
        if not _ids_compatible(self.ssids.get(a, _NONE), self.ssids.get(b, _NONE)):
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


def _deterministic_edges(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Same candidate id within one source (and state): a star per group (vectorised).

    `frame` is sorted by record id, so each group's first row is its smallest id.
    """
    keyed = frame[frame["source"].notna() & frame["source_person_id"].notna()]
    if keyed.empty:
        return []
    hub = keyed[["source", "source_person_id", "state"]].fillna("")
    group = hub.groupby(list(hub.columns), sort=False).ngroup().to_numpy()
    _, first_row, inverse = np.unique(group, return_index=True, return_inverse=True)
    ids = keyed["record_id"].to_numpy(dtype=object)
    first = ids[first_row[inverse]]
    spokes = ids != first
    return list(zip(first[spokes].tolist(), ids[spokes].tolist(), strict=True))


def _deterministic_state_ids(edges: pd.DataFrame) -> pd.DataFrame:
    """Same state student id with a compatible first name and birth date: certain.

    "Compatible" is any comparison level but "else" (NULL counts as compatible).
    """
    certain = (
        (edges["gamma_state_student_id"] == STATE_ID_EXACT)
        & (edges["gamma_first_name"] != FIRST_NAME_DIFFERS)
        & (edges["gamma_birth_date"] != 0)
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


def _other_state(frame: pd.DataFrame, edges: pd.DataFrame) -> pd.Series:
    state = dict(zip(frame["record_id"], frame["state"], strict=True))
    left = edges["record_id_l"].map(state)
    right = edges["record_id_r"].map(state)
    return left.notna() & right.notna() & (left != right)


def cluster_edges(
    prepared: Prepared, edges: pd.DataFrame, constraints: Constraints, *, params
) -> Clustering:
    """Merge edges at or above the threshold under the rules; queue the rest."""
    frame = prepared.frame
    rep = prepared.representative
    anchors = {rep[r]: p for r, p in constraints.anchors.items() if r in rep}
    comps = _Components(frame, anchors)
    for a, b in _known(constraints.cannot_link, rep):
        comps.forbid(a, b)
    for a, b in (
        _known(constraints.must_link, rep) + _anchor_edges(anchors) + _deterministic_edges(frame)
    ):
        ra, rb = comps.find(a), comps.find(b)
        if ra != rb:
            comps.union(ra, rb)
    edges = _deterministic_state_ids(edges[~_other_state(frame, edges)]).sort_values(
        ["match_probability", "record_id_l", "record_id_r"], ascending=[False, True, True]
    )
    review, flagged_roots = _merge(comps, edges, params)
    return _finish(comps, prepared, review, flagged_roots)


def _merge(comps: _Components, edges: pd.DataFrame, params) -> tuple[list[tuple], set[str]]:
    review: list[tuple] = []
    flagged: set[str] = set()
    rows = edges[EDGE_FIELDS].itertuples(index=False, name=None)
    for left, right, prob, weight, gamma_first, gamma_ssid in rows:
        ra, rb = comps.find(left), comps.find(right)
        if ra == rb:
            continue
        reason = None
        if prob < params.match_threshold:
            reason = "uncertain"
        elif gamma_first == FIRST_NAME_DIFFERS and gamma_ssid != STATE_ID_EXACT:
            reason = "first_name_differs"
        else:
            reason = comps.refusal(ra, rb, params.max_cluster_size)
        if reason is None:
            comps.union(ra, rb)
            continue
        review.append((left, right, float(prob), float(weight), reason))
        if reason != "uncertain":
            flagged.update((left, right))
    return review, flagged


EDGE_FIELDS = [
    "record_id_l",
    "record_id_r",
    "match_probability",
    "match_weight",
    "gamma_first_name",
    "gamma_state_student_id",
]


def _finish(comps: _Components, prepared: Prepared, review: list[tuple], flagged: set[str]):
    root_label: dict[str, str] = {}
    for record in prepared.frame["record_id"]:
        root = comps.find(record)
        label = root_label.get(root)
        root_label[root] = record if label is None else min(label, record)
    clusters = {
        record: root_label[comps.find(rep)] for record, rep in prepared.representative.items()
    }
    pairs = pd.DataFrame(review, columns=REVIEW_COLUMNS)
    if len(pairs):  # a pair whose records ended up together after all is no longer a question
        same = pairs["record_id_l"].map(clusters) == pairs["record_id_r"].map(clusters)
        pairs = pairs[~same].reset_index(drop=True)
    flagged_clusters = sorted({clusters[r] for r in flagged if r in clusters})
    return Clustering(clusters=clusters, review_pairs=pairs, flagged=flagged_clusters)
