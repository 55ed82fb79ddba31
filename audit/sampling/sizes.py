"""Attribute-sampling sample sizes: how many items to check for a stated confidence.

The rule (the one behind the AICPA Audit Guide *Audit Sampling* tables of
statistical sample sizes for tests of controls): with confidence `c`,
tolerable deviation rate `t` and expected deviation rate `e`, the sample size
is the smallest `n` such that

    P(X <= k) <= 1 - c,    k = ceil(n * e)  (deviations the sample may show)

where X is the number of deviations found in a sample of `n` from a
population whose deviation rate is exactly `t`:

* without a population size, X ~ Binomial(n, t) (sampling with replacement,
  or a population so large it makes no difference);
* with a population of N items, X ~ Hypergeometric(N, D, n) with
  D = ceil(t * N), the fewest deviations that make the population's rate at
  least `t` (sampling without replacement: small strata need fewer).

So a population at the tolerable rate shows more than `k` deviations with
probability at least `c`.  Examples: c = 95%, t = 5%, e = 0 gives 59; with
N = 100 it gives 45, with N = 1,000 it gives 57; e = 1% gives 93 (k = 1) and
e = 2% gives 181 (k = 4), as in the AICPA 95% table.  Rates are read as exact
decimals (0.01 is one hundredth, not the nearest binary float).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from audit.sampling.distributions import binomial_cdf, hypergeometric_cdf
from kernel.errors import InvalidInput

SEARCH_LIMIT = 1_000_000  # no practical audit plan asks for more items than this


@dataclass(frozen=True)
class SampleSize:
    """A sample size and how it was reached."""

    size: int
    allowed_deviations: int  # k: the sample may show this many and still support the rate
    method: str  # "binomial" or "hypergeometric"
    unclamped: int  # before --minimum/--maximum and the population cap
    risk: float  # P(X <= k) at the tolerable rate for the unclamped size: at most 1 - c


def exact(rate: float | str | Fraction) -> Fraction:
    return rate if isinstance(rate, Fraction) else Fraction(str(rate))


def check_rates(confidence: Fraction, tolerable: Fraction, expected: Fraction) -> None:
    if not 0 < confidence < 1:
        raise InvalidInput(f"confidence must be between 0 and 1 (got {float(confidence)})")
    if not 0 < tolerable < 1:
        raise InvalidInput(f"the tolerable rate must be between 0 and 1 (got {float(tolerable)})")
    if not 0 <= expected < tolerable:
        raise InvalidInput(
            f"the expected rate must be at least 0 and below the tolerable rate "
            f"{float(tolerable)} (got {float(expected)}): no sample size can tell them apart"
        )


def attribute_sample_size(
    confidence: float | str | Fraction,
    tolerable: float | str | Fraction,
    expected: float | str | Fraction = 0,
    *,
    population: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> SampleSize:
    """The sample size for one stratum (see the module docstring for the rule).

    The result is then raised to `minimum`, lowered to `maximum`, and never
    exceeds `population` (a stratum cannot give more items than it has).
    """
    c, t, e = exact(confidence), exact(tolerable), exact(expected)
    check_rates(c, t, e)
    if population is not None and population < 1:
        raise InvalidInput(f"the population must have at least one item (got {population})")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise InvalidInput(f"--minimum {minimum} is larger than --maximum {maximum}")
    n, k, risk = _smallest(c, t, e, population)
    size = max(n, minimum or 0)
    if maximum is not None:
        size = min(size, maximum)
    if population is not None:
        size = min(size, population)
    method = "binomial" if population is None else "hypergeometric"
    return SampleSize(size, k, method, n, risk)


def _smallest(
    c: Fraction, t: Fraction, e: Fraction, population: int | None
) -> tuple[int, int, float]:
    """Search by k: the sizes with ceil(n * e) = k form an interval, and for a fixed k the
    risk only falls as n grows, so each interval needs one check and at most one bisection
    (the naive scan over n costs about e * n^2 / 2 terms: minutes for strict rates)."""
    alpha = float(1 - c)
    limit = SEARCH_LIMIT if population is None else population
    marked = None if population is None else math.ceil(t * population)

    def risk(k: int, n: int) -> float:
        if marked is None or population is None:
            return binomial_cdf(k, n, float(t))
        return hypergeometric_cdf(k, population, marked, n)

    for k in itertools.count(0 if e == 0 else 1):
        low = 1 if k == 0 else math.floor((k - 1) / e) + 1
        high = limit if e == 0 else min(math.floor(k / e), limit)
        if low > limit:
            break
        if low > high or risk(k, high) > alpha:
            continue
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if risk(k, middle) <= alpha else (middle + 1, high)
        return low, k, risk(k, low)
    if population is not None:
        # even checking every item cannot support the rate with k > 0 deviations allowed
        k = math.ceil(population * e)
        return population, k, risk(k, population)
    raise InvalidInput("these rates need more than 1,000,000 items; relax them")


def detection_probability(
    size: SampleSize, tolerable: float, population: int | None = None
) -> float:
    """P(the sample shows more than the allowed deviations) when the rate is exactly `tolerable`."""
    t = exact(tolerable)
    if population is None:
        return 1.0 - binomial_cdf(size.allowed_deviations, size.size, float(t))
    marked = math.ceil(t * population)
    return 1.0 - hypergeometric_cdf(size.allowed_deviations, population, marked, size.size)
