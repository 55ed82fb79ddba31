"""How bad could it be: observed discrepancy rates and their exact upper bounds.

The upper bound is the one-sided Clopper-Pearson bound (C. J. Clopper and
E. S. Pearson, "The use of confidence or fiducial limits illustrated in the
case of the binomial", Biometrika 26, 1934): for x discrepancies in a sample
of n and confidence c, the largest rate p with P(X <= x; n, p) >= 1 - c,
i.e. the root of P(X <= x; n, p) = 1 - c (equivalently the c-quantile of
Beta(x + 1, n - x)); it is 1 when x = n.  The true rate exceeds it in at
most a share 1 - c of audits, whatever the true rate is.  It treats the
sample as drawn with replacement, which for sampling without replacement
only makes it conservative.
"""

from __future__ import annotations

from fractions import Fraction

from audit.sampling.distributions import binomial_cdf
from audit.sampling.sizes import exact
from kernel.errors import InvalidInput

BISECTION_STEPS = 200  # halves [0, 1] far below float resolution


def check_counts(discrepancies: int, sampled: int) -> None:
    if sampled < 1:
        raise InvalidInput(f"the sample is empty (size {sampled}): nothing to estimate from")
    if not 0 <= discrepancies <= sampled:
        raise InvalidInput(
            f"discrepancies must be between 0 and the sample size {sampled} (got {discrepancies})"
        )


def observed_rate(discrepancies: int, sampled: int) -> float:
    """Discrepancies found over items checked."""
    check_counts(discrepancies, sampled)
    return discrepancies / sampled


def clopper_pearson_upper(
    discrepancies: int, sampled: int, confidence: float | str | Fraction
) -> float:
    """The exact one-sided upper confidence bound on the discrepancy rate."""
    check_counts(discrepancies, sampled)
    c = exact(confidence)
    if not 0 < c < 1:
        raise InvalidInput(f"confidence must be between 0 and 1 (got {float(c)})")
    if discrepancies == sampled:
        return 1.0
    alpha = float(1 - c)
    low, high = 0.0, 1.0  # cdf(low) > alpha >= cdf(high); the cdf falls as p rises
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if binomial_cdf(discrepancies, sampled, middle) > alpha:
            low = middle
        else:
            high = middle
    return high
