"""The vectorised normalisation paths give exactly what the value-by-value ones give.

Pinned by fuzzing against the plain reading (`clean_name`, `pd.factorize`): the linker's
clusters, keys and model hash depend on these values and on the codes' numbering.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.normalise import (
    VECTOR_CLEANERS,
    _clean_names,
    _coded,
    _dictionary,
    clean_name,
    renumbered,
)

# plain ASCII names, and characters that must leave the fast path (accents, combining
# marks, letters whose case folding is not ASCII, separators Python counts as space)
NAMES = st.text(alphabet=st.sampled_from(list("aZq09 _.,'-\t\u00e9e\u0301\u00df\u0130\x1c!")))


def _objects(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES.filter(bool), max_size=30))
def test_names_cleaned_in_one_pass_as_one_by_one(names: list[str]) -> None:
    assert list(_clean_names(_objects(names))) == [clean_name(n) for n in names]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "b", "ab", "B"])), max_size=30))
def test_dictionary_codes_as_factorize(values: list[str | None]) -> None:
    text = pd.Series(values, dtype="string")
    codes, uniques = _dictionary(text)
    plain = text.astype(object).where(text != "", None).where(text.notna(), None)
    expected_codes, expected_uniques = pd.factorize(plain.to_numpy(), use_na_sentinel=True)
    assert codes.tolist() == expected_codes.tolist()
    assert list(uniques) == list(expected_uniques)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-1, 5), max_size=30), st.randoms(use_true_random=False))
def test_renumbered_as_factorising_the_rows_again(raw: list[int], rnd) -> None:
    values = _objects([None if v < 0 else f"v{v}" for v in raw])
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    rows = [i for i in range(len(raw)) if rnd.random() < 0.7]
    rnd.shuffle(rows)
    got_codes, got_uniques = renumbered((codes[rows], uniques))
    expected_codes, expected_uniques = pd.factorize(values[rows], use_na_sentinel=True)
    assert got_codes.tolist() == expected_codes.tolist()
    assert list(got_uniques) == list(expected_uniques)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a-1", "A1", " a 1", "--", "12345-6", "B"]))),
    st.sampled_from(sorted(VECTOR_CLEANERS)),
)
def test_codes_cleaned_per_distinct_value_as_per_row(values: list[str | None], column) -> None:
    text = pd.Series(values, dtype="string")
    clean = VECTOR_CLEANERS[column]
    codes, uniques = _coded(text, clean)
    expected_codes, expected_uniques = _dictionary(clean(text))
    assert codes.tolist() == expected_codes.tolist()
    assert list(uniques) == list(expected_uniques)
