"""Reproducible draws: first-generation tickets of Rivest's consistent sampler.

Method (R. L. Rivest, "Consistent Sampling with Replacement", 2018,
arXiv:1808.10016; the same tickets VotingWorks' Arlo uses for risk-limiting
election audits), written so it can be re-implemented in any language:

1. `seed_hash = sha256_hex(seed)`: lowercase hex SHA-256 of the seed's UTF-8.
2. For each item id: `h = int(sha256_hex(seed_hash + id), 16)` (the
   concatenation is UTF-8 encoded before hashing).
3. `ticket = "0." + reversed(decimal(h) left-padded with zeros to 64 digits)`:
   the decimal digits of `h` in reverse order, read as a fraction in [0, 1).
4. Within each stratum, items are ranked by ticket as a decimal number
   (ascending), ties broken by id (code-point order); the sample of size N is
   the first N of that ranking, or the whole stratum when it is smaller.
5. Expansion: a follow-up round of size M continues the same ranking (ranks
   N+1 .. N+M), so it extends the first round rather than redrawing it.

Draw order (what `draw` returns): strata in code-point order, then rank.
Pure: plain data in, plain data out, no I/O; the seed is always explicit.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from kernel.errors import InvalidInput

MIN_DIGITS = 64


@dataclass(frozen=True)
class Item:
    """One member of the population: a canonical id and the stratum (school) it belongs to."""

    id: str
    stratum: str


@dataclass(frozen=True)
class Ticketed:
    """An item with its ticket and its 1-based rank inside its stratum."""

    id: str
    stratum: str
    ticket: str
    rank: int


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_seed(seed: str) -> str:
    """The seed as given; refused when empty or padded (a stray newline changes every ticket)."""
    if not seed or not seed.strip():
        raise InvalidInput(
            "the seed is empty: pass the public seed, e.g. --seed 01382438112797316654"
        )
    if seed != seed.strip():
        raise InvalidInput(
            "the seed has leading or trailing whitespace; pass it exactly as published"
        )
    return seed


def ticket(seed: str, item_id: str) -> str:
    """The first-generation ticket of `item_id` under `seed` (see the module docstring)."""
    return _ticket(sha256_hex(check_seed(seed)), item_id)


def _ticket(seed_hash: str, item_id: str) -> str:
    value = int(sha256_hex(seed_hash + item_id), 16)
    return "0." + str(value).rjust(MIN_DIGITS, "0")[::-1]


def ranked(items: Iterable[Item], seed: str) -> dict[str, list[Ticketed]]:
    """Every stratum's items in ticket order (ascending, ties by id); strata in code-point order."""
    seed_hash = sha256_hex(check_seed(seed))
    groups: dict[str, list[tuple[Decimal, str, str]]] = defaultdict(list)
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InvalidInput(f"id {item.id!r} appears twice in the population")
        seen.add(item.id)
        text = _ticket(seed_hash, item.id)
        groups[item.stratum].append((Decimal(text), item.id, text))
    if not groups:
        raise InvalidInput("the population is empty: there is nothing to draw from")
    result = {}
    for stratum in sorted(groups):
        order = sorted(groups[stratum])
        result[stratum] = [
            Ticketed(item_id, stratum, text, rank)
            for rank, (_, item_id, text) in enumerate(order, start=1)
        ]
    return result


def draw(
    items: Iterable[Item],
    seed: str,
    size: int | Mapping[str, int],
    *,
    already: int | Mapping[str, int] = 0,
) -> list[Ticketed]:
    """The next `size` items per stratum after the first `already` (0 for a first round).

    `size` and `already` are one number for every stratum or a number per
    stratum (strata missing from a mapping get 0).  A stratum with fewer items
    left than asked gives what it has: the whole stratum at most.
    """
    result = []
    for stratum, order in ranked(items, seed).items():
        start = _per_stratum(already, stratum, "already drawn")
        count = _per_stratum(size, stratum, "sample size")
        result.extend(order[start : start + count])
    return result


def _per_stratum(value: int | Mapping[str, int], stratum: str, what: str) -> int:
    number = value.get(stratum, 0) if isinstance(value, Mapping) else value
    if number < 0:
        raise InvalidInput(f"the {what} for stratum {stratum!r} is negative ({number})")
    return number
