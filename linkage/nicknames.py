"""First-name forms: a name with the formal names it may stand for (Bill -> William).

The table is the `nicknames` package's `names.csv` (Old Dominion / Carlton
Northern's diminutives list, plus English-Spanish translations such as
Jose/Joseph).  Two first names are nickname-related when their forms share a
name: Bill {bill, william} and Will {will, william, wilbur, ...} do.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import cache

import nicknames


@cache
def _relations() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """(nickname -> the formal names it is a diminutive (or translation) of,
    formal name -> its nicknames)."""
    formal: dict[str, set[str]] = defaultdict(set)
    diminutives: dict[str, set[str]] = defaultdict(set)
    with nicknames.with_names_csv_path() as path, path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name, relation, other = row["name1"], row["relationship"], row["name2"]
            formal[other].add(name)
            diminutives[name].add(other)
            if relation.startswith("is_translation_of"):
                formal[name].add(other)
    return _frozen(formal), _frozen(diminutives)


def _frozen(table: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    return {name: frozenset(names) for name, names in table.items()}


def _formal_names() -> dict[str, frozenset[str]]:
    return _relations()[0]


@cache
def name_forms(name: str) -> tuple[str, ...]:
    """The name itself and the formal names it may stand for, sorted."""
    return tuple(sorted({name, *_formal_names().get(name, ())}))


@cache
def name_variants(name: str) -> frozenset[str]:
    """Every name `name` may be written as for one person: itself, the formal names it
    stands for, and every nickname of those (Bill -> william, will, billy, liam, ...)."""
    forms = name_forms(name)
    diminutives = _relations()[1]
    return frozenset(forms).union(*(diminutives.get(form, ()) for form in forms))


@cache
def name_key(name: str) -> str:
    """One representative formal name, for blocking (exact keys only)."""
    formal = _formal_names().get(name)
    return min(formal) if formal else name
