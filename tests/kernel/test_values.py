"""The shared value types: one check and one message each, whoever asks."""

import pytest

from kernel.errors import InvalidInput
from kernel.values import (
    USPS_STATES,
    district_code,
    is_district_code,
    is_state_code,
    school_year,
    school_year_start,
    state_code,
    state_codes,
)


def test_state_codes_are_the_usps_codes_in_either_case():
    assert len(USPS_STATES) == 56  # 50 states, DC and five territories
    assert state_code("la") == "LA" and state_code("PR") == "PR"
    assert state_codes(["tn", "LA", "TN"]) == frozenset({"TN", "LA"})
    assert not is_state_code("XX") and not is_state_code("Louisiana")


@pytest.mark.parametrize("bad", ["XX", "", "L", "Louisiana", "L A"])
def test_a_state_code_is_refused_with_one_message(bad):
    with pytest.raises(InvalidInput) as refused:
        state_code(bad, field="state")
    assert str(refused.value) == f"{bad!r} is not a two-letter USPS state code (e.g. LA, TN)"
    assert refused.value.field == "state"


def test_state_codes_refuse_the_first_unknown_one():
    with pytest.raises(InvalidInput, match="'QQ' is not a two-letter USPS state code"):
        state_codes(["LA", "QQ"])


@pytest.mark.parametrize(("text", "start"), [("2025-26", 2025), ("1999-00", 1999)])
def test_a_school_year_spans_two_consecutive_years(text, start):
    assert school_year_start(text) == start
    assert school_year(text) == text


@pytest.mark.parametrize("bad", ["2025-27", "2025", "2025/26", "25-26", "2025-2026", " 2025-26"])
def test_a_school_year_is_refused_with_one_message(bad):
    assert school_year_start(bad) is None
    with pytest.raises(InvalidInput) as refused:
        school_year(bad)
    assert str(refused.value) == (
        f"{bad!r} is not a school year: write YYYY-YY for two consecutive years, as 2025-26"
    )


@pytest.mark.parametrize("good", ["036", "D1", "ORLEANS-PARISH", "A" * 16])
def test_district_codes(good):
    assert is_district_code(good) and district_code(good) == good


@pytest.mark.parametrize("bad", ["", "../x", "a b", "A" * 17, "036\n"])
def test_a_district_code_is_refused_with_one_message(bad):
    assert not is_district_code(bad)
    with pytest.raises(InvalidInput) as refused:
        district_code(bad)
    assert str(refused.value) == f"{bad!r} is not a district code (1-16 letters, digits or '-')"
