"""Attribute-sampling sizes against the issue's figures and the AICPA 95% table."""

import math

import pytest

from audit.sampling.distributions import binomial_cdf, hypergeometric_cdf
from audit.sampling.sizes import attribute_sample_size, detection_probability
from kernel.errors import InvalidInput


@pytest.mark.parametrize(("population", "size"), [(None, 59), (100, 45), (1000, 57)])
def test_95_confidence_5_percent_tolerable_none_expected(population, size):
    result = attribute_sample_size(0.95, 0.05, 0, population=population)
    assert (result.size, result.allowed_deviations) == (size, 0)
    assert result.method == ("binomial" if population is None else "hypergeometric")
    assert result.risk <= 0.05


# AICPA Audit Sampling guide, table of statistical sample sizes at 95% confidence:
# (tolerable, expected) -> size (allowed deviations)
AICPA_95 = [
    (0.05, 0.0025, 93, 1),
    (0.05, 0.01, 93, 1),
    (0.05, 0.0125, 124, 2),
    (0.05, 0.0175, 153, 3),
    (0.05, 0.02, 181, 4),
    (0.02, 0.0, 149, 0),
    (0.02, 0.0025, 236, 1),
    (0.03, 0.0075, 208, 2),
    (0.04, 0.015, 192, 3),
    (0.10, 0.0, 29, 0),
]


@pytest.mark.parametrize(("tolerable", "expected", "size", "allowed"), AICPA_95)
def test_binomial_sizes_match_the_aicpa_table(tolerable, expected, size, allowed):
    result = attribute_sample_size(0.95, tolerable, expected)
    assert (result.size, result.allowed_deviations) == (size, allowed)


def test_the_size_is_the_smallest_that_reaches_the_confidence():
    result = attribute_sample_size(0.95, 0.05, 0, population=100)
    assert detection_probability(result, 0.05, population=100) >= 0.95
    smaller = attribute_sample_size(0.95, 0.05, 0, population=100, maximum=44)
    assert detection_probability(smaller, 0.05, population=100) < 0.95


def test_minimum_maximum_and_population_clamp_the_size():
    assert attribute_sample_size(0.95, 0.05, minimum=80).size == 80
    capped = attribute_sample_size(0.95, 0.05, maximum=30)
    assert (capped.size, capped.unclamped) == (30, 59)
    assert attribute_sample_size(0.95, 0.05, population=12, minimum=20).size == 12
    tiny = attribute_sample_size(0.99, 0.30, 0.29, population=5)
    assert tiny.size <= 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.0, "tolerable": 0.05}, "confidence"),
        ({"confidence": 0.95, "tolerable": 0}, "tolerable"),
        ({"confidence": 0.95, "tolerable": 0.05, "expected": 0.05}, "expected"),
        ({"confidence": 0.95, "tolerable": 0.05, "population": 0}, "population"),
        ({"confidence": 0.95, "tolerable": 0.05, "minimum": 9, "maximum": 3}, "minimum"),
    ],
)
def test_impossible_parameters_are_refused(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        attribute_sample_size(**kwargs)


def naive(confidence, tolerable, expected, population=None):
    """The definition read literally: try n = 1, 2, ... (slow, so only for small cases)."""
    marked = None if population is None else math.ceil(tolerable * population)
    for n in range(1, (population or 5000) + 1):
        k = math.ceil(round(n * expected, 9))
        if marked is None:
            risk = binomial_cdf(k, n, tolerable)
        else:
            risk = hypergeometric_cdf(k, population, marked, n)
        if risk <= 1 - confidence:
            return n, k
    return None


@pytest.mark.parametrize("population", [None, 40, 300])
@pytest.mark.parametrize("expected", [0, 0.005, 0.02, 0.04])
@pytest.mark.parametrize("confidence", [0.9, 0.99])
def test_the_fast_search_equals_the_definition(confidence, expected, population):
    result = attribute_sample_size(confidence, 0.08, expected, population=population)
    found = naive(confidence, 0.08, expected, population)
    if found is None:  # nothing short of everything: every item, and the risk says so
        assert result.size == population and result.risk > 1 - confidence
    else:
        assert (result.unclamped, result.allowed_deviations) == found


def test_strict_rates_are_still_quick_and_impossible_ones_refused():
    assert attribute_sample_size(0.99, 0.01, 0.009).allowed_deviations > 400
    with pytest.raises(InvalidInput, match="1,000,000"):
        attribute_sample_size(0.999, 0.001, 0.00099)
