"""The rules no match score overrides: which pairs never merge, and when they stand down.

Pure, vectorised over scored edges (`linkage.scoring.EDGE_COLUMNS`); used by
`linkage.clusters`.  Each veto is a fact about people the Fellegi-Sunter score
cannot know: twins share everything but a first name, a parent and a child can
share a name and a home, and schools number students in sequence.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from linkage.nicknames import name_variants
from linkage.normalise import combined_codes

DIFFERS = 0  # Splink gamma of an "else" level (NULL is -1, any agreement level is above 0)
STATE_ID_EXACT = 2  # gamma of the state student id comparison's exact level
STATE_ID_ONE_EDIT = 1
IDENTITY = ("gamma_first_name", "gamma_last_name", "gamma_birth_date")
# the rules no score overrides, in the order they are named when several apply
VETOES = ("id_conflict", "first_name_differs", "birth_date_differs")


def edits(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (substitutions, insertions, deletions, adjacent
    transpositions) of `a` and `b`, or `limit + 1` once it is certain to exceed `limit`.

    A common prefix and suffix cost nothing and are cut first (as string-metric libraries
    do): ids numbered in sequence differ in a digit or two, and the table is then a few
    cells, not a hundred; clustering asks this a hundred thousand times a million records.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    a, b = _without_common_ends(a, b)
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return min(previous[-1], limit + 1)


def _without_common_ends(a: str, b: str) -> tuple[str, str]:
    shorter = min(len(a), len(b))
    start = 0
    while start < shorter and a[start] == b[start]:
        start += 1
    end = 0
    while end < shorter - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start : len(a) - end], b[start : len(b) - end]


ID_TYPOS = 2  # two ids this close in one person are typos of one id (double typos happen)


def ids_compatible(left: AbstractSet[str], right: AbstractSet[str]) -> bool:
    """Two state student ids in one person are a conflict unless one is a typo of the other
    (at most `ID_TYPOS` edits: two typo'd copies of one id can be two edits apart).  The
    merge asking has a strong edge with no veto, so names and birth date agree too."""
    return all(edits(a, b, ID_TYPOS) <= ID_TYPOS for a in left for b in right)


def candidate_groups(source: np.ndarray, person: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Per row: one integer per (source, candidate id, state), -1 without one.

    From the three columns' codes (-1 for missing; a missing state is a value of its own),
    numbered in order of first appearance."""
    has = (source >= 0) & (person >= 0)
    parts = ((codes[has], int(codes.max(initial=-1)) + 1) for codes in (source, person, state))
    group = np.full(len(source), -1, dtype=np.int64)
    group[has] = pd.factorize(combined_codes(parts, int(has.sum())))[0]
    return group


def identity_agreements(edges: pd.DataFrame) -> np.ndarray:
    """Per edge: how many of first name, last name and birth date agree at some level."""
    return sum((edges[c].to_numpy() > DIFFERS).astype(np.int64) for c in IDENTITY)


def identity_disagreements(
    edges: pd.DataFrame, unreliable: AbstractSet[str] = frozenset()
) -> np.ndarray:
    """Per edge: how many of first name, last name and birth date disagree entirely
    (a missing value neither agrees nor disagrees; nor does an `unreliable` field)."""
    reliable = [c for c in IDENTITY if c.removeprefix("gamma_") not in unreliable]
    return sum((edges[c].to_numpy() == DIFFERS).astype(np.int64) for c in reliable) + np.zeros(
        len(edges), dtype=np.int64
    )


def vetoes(
    edges: pd.DataFrame,
    candidate: np.ndarray,
    unreliable: AbstractSet[str] = frozenset(),
    names: pd.DataFrame | None = None,
) -> np.ndarray:
    """Per edge: the rule that keeps it from merging (`VETOES`), or None.

    `candidate`: `candidate_groups` of the rows the edges' positions point at.
    `unreliable`: comparisons (`first_name`, `birth_date`, ...) whose values disagree
    entirely in so many true matches of this data (`unreliable_fields`) that their
    disagreement proves nothing: no rule rests on them.  `names` (the normalised
    `first_name`, `middle_name`, `last_name` and `middle_initial` of the rows the
    positions point at):
    first names the comparison calls different but a typo'd nickname or swapped names
    explain are not `first_name_differs` (`first_names_explained`).
    """
    disagree = identity_disagreements(edges, unreliable)
    ssid = edges["gamma_state_student_id"].to_numpy()
    left, right = (edges[c].to_numpy(dtype=np.int64) for c in ("pos_l", "pos_r"))
    same_candidate = (candidate[left] >= 0) & (candidate[left] == candidate[right])
    id_agrees = (ssid >= STATE_ID_ONE_EDIT) | same_candidate
    first_differs = _differs(edges, "first_name", unreliable)
    if names is not None:
        same_id = (ssid == STATE_ID_EXACT) | same_candidate
        first_differs &= ~first_names_explained(edges, names, first_differs, same_id)
    reason = np.full(len(edges), None, dtype=object)
    rules = (
        ("birth_date_differs", _differs(edges, "birth_date", unreliable)),
        ("first_name_differs", first_differs),
        # the id is all they share: two of the three disagree, or none agrees
        (
            "id_conflict",
            id_agrees & ((disagree >= 2) | ((identity_agreements(edges) == 0) & (disagree >= 1))),
        ),
    )
    for name, applies in rules:  # the last rule applied wins: VETOES order, reversed
        reason[applies] = name
    return reason


NAME_TYPO_MIN_LENGTH = 4  # one edit between shorter names (kim, kit, kate) is no evidence


def _near(a: str, b: str) -> bool:
    """The same name, or one edit apart when both are long enough for that to mean a typo."""
    if a == b:
        return True
    return min(len(a), len(b)) >= NAME_TYPO_MIN_LENGTH and edits(a, b, 1) <= 1


@lru_cache(maxsize=1 << 16)
def related_first_names(a: str | None, b: str | None) -> bool:
    """Whether one first name is, but for one typo, a way of writing the other: itself,
    a formal name it stands for or a nickname of one (`nicknames.name_variants`).
    "Miky" and "Michael" are (mikey); "Jacob" and "Joshua" are not.  Cached: a million
    records ask about the same few thousand pairs of names again and again."""
    if not a or not b:
        return False
    return any(_near(a, v) for v in name_variants(b)) or any(_near(b, v) for v in name_variants(a))


def _swapped_with_typo(first_l, last_l, first_r, last_r) -> bool:
    """First and last name in each other's columns, each within a typo of the other's."""
    if not (first_l and last_l and first_r and last_r):
        return False
    return _near(first_l, last_r) and _near(last_l, first_r)


def _middle_explains(first_l, middle_l, first_r, middle_r) -> bool:
    """The same full middle name on both, or one goes by the other's middle name (typo'd)."""
    if middle_l and middle_r and len(middle_l) > 1 and middle_l == middle_r:
        return True
    return bool(
        (first_l and middle_r and _near(first_l, middle_r))
        or (first_r and middle_l and _near(first_r, middle_l))
    )


def middle_initials(codes: np.ndarray, values: Any) -> np.ndarray:
    """Per row: the middle name's first letter, "" without one (from the column's codes,
    -1 for missing, and distinct `values`: each name once, not a million times)."""
    return np.array([v[:1] for v in values] + [""], dtype=object)[codes]


def middle_names_conflict(names: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per pair of rows: both have a middle name (or initial) and their initials differ
    (`names["middle_initial"]`: `middle_initials`, made once for the many pairs)."""
    initial = names["middle_initial"].to_numpy(dtype=object)
    a, b = initial[left], initial[right]
    return (a != "") & (b != "") & (a != b)


def first_names_explained(
    edges: pd.DataFrame, names: pd.DataFrame, differs: np.ndarray, same_id: np.ndarray
) -> np.ndarray:
    """Per edge: first names the comparison calls different, on a pair whose surname and
    birth date agree, that a typo'd nickname ("Miky" / "Michael") or names swapped
    with a typo explain; with the same state student id or candidate id, also one who
    goes by the (typo'd) middle name, or the same full middle name on both.  Not when
    the middle names conflict.

    Twins share a surname, a birth date and a home, but their first names are not one
    another's nickname, and their middle names differ when both are given; a twin whose
    sibling's id was typed on the form (the adversarial table's Jacob and Joshua) has
    nothing here to explain the difference.
    """
    agree = (edges["gamma_last_name"].to_numpy() > DIFFERS) & (
        edges["gamma_birth_date"].to_numpy() > DIFFERS
    )
    left, right = (edges[c].to_numpy(dtype=np.int64) for c in ("pos_l", "pos_r"))
    asked = np.flatnonzero(differs & agree & ~middle_names_conflict(names, left, right))
    first, middle, last = (
        names[c].to_numpy(dtype=object) for c in ("first_name", "middle_name", "last_name")
    )
    explained = np.zeros(len(edges), dtype=bool)
    for at in asked.tolist():
        a, b = left[at], right[at]
        explained[at] = (
            related_first_names(first[a], first[b])
            or _swapped_with_typo(first[a], last[a], first[b], last[b])
            or bool(same_id[at] and _middle_explains(first[a], middle[a], first[b], middle[b]))
        )
    return explained


def _differs(edges: pd.DataFrame, comparison: str, unreliable: AbstractSet[str]) -> np.ndarray:
    if comparison in unreliable:
        return np.zeros(len(edges), dtype=bool)
    return edges[f"gamma_{comparison}"].to_numpy() == DIFFERS


RELIABLE_BELOW = 0.04


def unreliable_fields(m_differs: dict[str, float | None]) -> frozenset[str]:
    """The comparisons whose entire disagreement no rule may rest on in this data.

    The model's `m` of each field's "else" level is the share of true matches whose
    values disagree entirely.  In student records that share is small for names, birth
    date and id together (measured: 0.013 on average over the four, in either
    generator): a disagreement there is evidence of two people, and the rules use it.
    Data whose errors replace whole fields (FEBRL: 0.07 to 0.12) is not like that, and
    rules resting on those fields would refuse true matches by the hundred; when the
    average reaches `RELIABLE_BELOW` none of the rules applies, and the run says so.
    """
    known = [m for m in m_differs.values() if m is not None]
    if not known or sum(known) / len(known) < RELIABLE_BELOW:
        return frozenset()
    return frozenset(m_differs)
