"""Splitting the one full name of a district's claim into first, middle and last (pure)."""

import pytest

from linkage.names import NameParts, split_full_name


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Ana Morales", ("Ana", None, "Morales")),
        ("Ana Lucia Morales", ("Ana", "Lucia", "Morales")),
        ("Morales, Ana Lucia", ("Ana", "Lucia", "Morales")),
        ("Morales,Ana", ("Ana", None, "Morales")),
        ("O'Brien-Nguyen, José", ("José", None, "O'Brien-Nguyen")),
        ("Maria de la Cruz", ("Maria", None, "de la Cruz")),
        ("Martin Van Buren", ("Martin", None, "Van Buren")),
        ("James Earl Guidry Jr.", ("James", "Earl", "Guidry")),
        ("Guidry Jr., James", ("James", None, "Guidry")),
        ("Guidry, James III", ("James", None, "Guidry")),
        ("  Ana   Morales  ", ("Ana", None, "Morales")),
        ("Cher", (None, None, "Cher")),
        ("", (None, None, None)),
        ("   ", (None, None, None)),
    ],
)
def test_split_full_name(full, parts):
    assert split_full_name(full) == NameParts(*parts)
