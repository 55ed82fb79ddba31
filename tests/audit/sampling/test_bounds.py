"""Clopper-Pearson upper bounds: closed forms, a published value, the defining equation."""

import pytest

from audit.sampling.bounds import clopper_pearson_upper, observed_rate
from audit.sampling.distributions import binomial_cdf
from kernel.errors import InvalidInput


def test_no_discrepancies_has_the_closed_form_bound():
    # x = 0: (1 - p)^n = 1 - c, so p = 1 - (1 - c)^(1/n) (the "rule of three" for large n)
    assert clopper_pearson_upper(0, 59, 0.95) == pytest.approx(1 - 0.05 ** (1 / 59), rel=1e-12)


def test_a_published_value_and_the_defining_equation():
    # 2 of 100 at 95% one-sided: Beta(3, 98) 0.95-quantile = 0.0616 (Clopper-Pearson tables)
    bound = clopper_pearson_upper(2, 100, 0.95)
    assert bound == pytest.approx(0.0616, abs=5e-5)
    assert binomial_cdf(2, 100, bound) == pytest.approx(0.05, abs=1e-9)


def test_all_discrepant_gives_one_and_bounds_rise_with_confidence():
    assert clopper_pearson_upper(7, 7, 0.9) == 1.0
    assert clopper_pearson_upper(3, 50, 0.8) < clopper_pearson_upper(3, 50, 0.99)
    assert observed_rate(3, 50) == 0.06 < clopper_pearson_upper(3, 50, 0.8)


@pytest.mark.parametrize(("found", "sampled"), [(1, 0), (-1, 5), (6, 5)])
def test_impossible_counts_are_refused(found, sampled):
    with pytest.raises(InvalidInput):
        clopper_pearson_upper(found, sampled, 0.95)
