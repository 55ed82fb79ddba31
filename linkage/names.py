"""A full name as one string (a district's certificate claim) split into its parts.

Uploads carry `student_name` as typed on the form; the linker compares first
and last names separately, so the string is split here: "Last, First Middle"
when it has a comma, otherwise the last word is the surname, keeping surname
particles ("de la Cruz", "Van Buren") and dropping generational suffixes
("Jr.", "III") that would otherwise pose as the surname.
"""

from __future__ import annotations

from typing import NamedTuple

SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})
PARTICLES = frozenset(
    {"da", "das", "de", "del", "della", "der", "des", "di", "do", "dos", "du", "la", "le",
     "st", "ste", "van", "von", "y"}
)  # fmt: skip


class NameParts(NamedTuple):
    first_name: str | None
    middle_name: str | None
    last_name: str | None


def _bare(word: str) -> str:
    return word.strip(".,").casefold()


def _without_suffix(words: list[str]) -> list[str]:
    while len(words) > 1 and _bare(words[-1]) in SUFFIXES:
        words = words[:-1]
    return words


def _join(words: list[str]) -> str | None:
    return " ".join(words) or None


def split_full_name(full: str | None) -> NameParts:
    """First, middle and last name of a full name; parts that are not there are None."""
    if not full or not full.strip():
        return NameParts(None, None, None)
    if "," in full:
        last, _, given = full.partition(",")
        surname = _without_suffix(last.split())
        rest = [w for w in given.replace(",", " ").split() if _bare(w) not in SUFFIXES]
        return NameParts(_join(rest[:1]), _join(rest[1:]), _join(surname))
    words = _without_suffix(full.split())
    if len(words) == 1:
        return NameParts(None, None, words[0])
    start = len(words) - 1
    while start > 1 and _bare(words[start - 1]) in PARTICLES:
        start -= 1  # "Maria de la Cruz": the particles belong to the surname
    return NameParts(words[0], _join(words[1:start]), _join(words[start:]))
