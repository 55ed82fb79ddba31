"""Audit statistics: pure functions, plain data in and out, explicit seeds, no I/O.

`tickets` draws reproducible samples (Rivest's consistent sampler), `sizes`
says how many to draw (attribute sampling), `bounds` says what the findings
mean (Clopper-Pearson), `switching` moves schools between sampling levels
(ANSI/ASQ Z1.4).
"""

from audit.sampling.bounds import clopper_pearson_upper, observed_rate
from audit.sampling.sizes import SampleSize, attribute_sample_size, detection_probability
from audit.sampling.switching import Cycle, Decision, Level, Status, SwitchingRules, replay, step
from audit.sampling.tickets import Item, Ticketed, check_seed, draw, ranked, ticket

__all__ = [
    "Cycle",
    "Decision",
    "Item",
    "Level",
    "SampleSize",
    "Status",
    "SwitchingRules",
    "Ticketed",
    "attribute_sample_size",
    "check_seed",
    "clopper_pearson_upper",
    "detection_probability",
    "draw",
    "observed_rate",
    "ranked",
    "replay",
    "step",
    "ticket",
]
