"""The statistics hold: thousands of simulated audits on populations with known rates.

Each check runs 20,000 audits (numpy, fixed seed, so the outcome is
deterministic) and allows three standard errors of simulation noise.
"""

import numpy as np
import pytest

from audit.sampling.bounds import clopper_pearson_upper
from audit.sampling.sizes import attribute_sample_size
from audit.sampling.tickets import Item, draw

RUNS = 20_000


def noise(share: float) -> float:
    return 3 * np.sqrt(share * (1 - share) / RUNS)


@pytest.mark.parametrize("confidence", [0.9, 0.95])
@pytest.mark.parametrize(("population", "rate", "sampled"), [(500, 0.02, 59), (2000, 0.1, 45)])
def test_the_true_rate_exceeds_the_upper_bound_no_more_than_promised(
    confidence, population, rate, sampled
):
    rng = np.random.default_rng(20261127)
    bad = round(rate * population)
    found = rng.hypergeometric(bad, population - bad, sampled, size=RUNS)
    bounds = np.array([clopper_pearson_upper(x, sampled, confidence) for x in range(sampled + 1)])
    misses = np.mean(bad / population > bounds[found])
    assert misses <= (1 - confidence) + noise(1 - confidence)


@pytest.mark.parametrize("population", [None, 100, 1000])
def test_the_sample_size_detects_a_school_at_the_tolerable_rate(population):
    size = attribute_sample_size(0.95, 0.05, 0, population=population)
    rng = np.random.default_rng(7)
    if population is None:
        found = rng.binomial(size.size, 0.05, size=RUNS)
    else:
        bad = 5 * population // 100
        found = rng.hypergeometric(bad, population - bad, size.size, size=RUNS)
    detected = np.mean(found > size.allowed_deviations)
    assert detected >= 0.95 - noise(0.95)
    smaller = size.size - 5  # and the rule is not wastefully large
    if population is not None:
        assert np.mean(rng.hypergeometric(bad, population - bad, smaller, RUNS) > 0) < 0.95


def test_the_ticket_sampler_draws_each_item_equally_often():
    # 4,000 real draws of 1 of 8 items: each item should be drawn 1/8 of the time
    items = [Item(str(n), "s") for n in range(8)]
    counts = np.zeros(8)
    for seed in range(4000):
        counts[int(draw(items, str(seed), 1)[0].id)] += 1
    expected = 4000 / 8
    chi_square = np.sum((counts - expected) ** 2 / expected)
    assert chi_square < 24.3  # 7 degrees of freedom, p = 0.001
