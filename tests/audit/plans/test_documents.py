"""Plan rules: sizes per stratum and level (pure, no database)."""

import pytest

from audit.plans.documents import parse_document
from audit.sampling.switching import Level
from kernel.errors import InvalidInput

ATTRIBUTE = {"rule": "attribute", "confidence": 0.95, "tolerable": 0.05, "expected": 0}


def test_attribute_sizes_use_the_stratum_population_and_the_level():
    plan = parse_document(ATTRIBUTE)
    assert plan.size(100, Level.NORMAL, uncorroborated=False) == 45  # hypergeometric
    assert plan.size(1000, Level.NORMAL, uncorroborated=False) == 57
    tightened = plan.size(1000, Level.TIGHTENED, uncorroborated=False)
    reduced = plan.size(1000, Level.REDUCED, uncorroborated=False)
    assert reduced < 57 < tightened < 1000
    assert plan.size(1000, Level.FULL_REVIEW, uncorroborated=False) == 1000
    assert plan.size(10, Level.NORMAL, uncorroborated=False) <= 10


def test_min_max_and_the_uncorroborated_rate():
    plan = parse_document({**ATTRIBUTE, "minimum": 50, "maximum": 52, "uncorroborated_rate": "2"})
    assert plan.size(1000, Level.NORMAL, uncorroborated=False) == 52
    assert plan.size(30, Level.NORMAL, uncorroborated=False) == 30  # whole stratum
    assert plan.size(1000, Level.NORMAL, uncorroborated=True) == 104
    fixed = parse_document({"rule": "fixed", "fixed_count": 3, "uncorroborated_rate": "full"})
    assert fixed.size(40, Level.NORMAL, uncorroborated=True) == 40
    assert fixed.size(40, Level.NORMAL, uncorroborated=False) == 3
    assert (fixed.count_for(Level.TIGHTENED), fixed.count_for(Level.REDUCED)) == (6, 2)
    same = parse_document({"rule": "fixed", "fixed_count": 3, "uncorroborated_rate": "same"})
    assert same.size(40, Level.NORMAL, uncorroborated=True) == 3


def test_a_tightened_rate_at_or_below_the_expected_rate_is_refused():
    with pytest.raises(InvalidInput, match="tightened_tolerable"):
        parse_document({**ATTRIBUTE, "expected": 0.03})
