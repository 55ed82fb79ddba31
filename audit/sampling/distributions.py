"""Binomial and hypergeometric tail probabilities in log space (no SciPy needed).

Terms are computed with `math.lgamma`, whose relative error (about 1e-15)
is far below anything the sample-size and bound rules depend on.
"""

from __future__ import annotations

import math


def log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = math.fsum(math.exp(log_comb(n, i) + i * log_p + (n - i) * log_q) for i in range(k + 1))
    return min(total, 1.0)


def hypergeometric_cdf(k: int, population: int, successes: int, draws: int) -> float:
    """P(X <= k) for X the number of marked items among `draws` taken without replacement
    from `population` items of which `successes` are marked."""
    low = max(0, draws - (population - successes))
    high = min(draws, successes)
    if k < low:
        return 0.0
    if k >= high:
        return 1.0
    denominator = log_comb(population, draws)
    total = math.fsum(
        math.exp(log_comb(successes, i) + log_comb(population - successes, draws - i) - denominator)
        for i in range(low, k + 1)
    )
    return min(total, 1.0)
