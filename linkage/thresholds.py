"""The merge threshold and the review band of one run, from targets rather than by hand.

Fellegi-Sunter gives every scored pair a match probability.  If the model is
calibrated, the pairs merged on score are expected to hold as many false merges
as their probabilities leave over: merging every pair at or above a threshold
``t`` has an expected precision of the mean probability of those pairs
(expected true merges over merges).  So instead of a fixed number,

- the **match threshold** is the lowest probability ``t`` at which the mean
  probability of the pairs at or above ``t`` still meets the target precision
  (never below the review floor, never above `CEILING`).  Strong evidence (many
  near-certain pairs, few doubtful ones) lets the threshold fall; weak evidence
  (a model on priors, or with middling scores everywhere) makes it rise, up to
  `CEILING` when even the strongest pairs cannot promise the target.
- the **review band** runs from the threshold down to the highest probability
  below which the pairs left out hold at most ``1 - target_recall`` of the
  matches the model expects in this run (the summed probability of every
  compared pair).  When evidence is strong the doubtful pairs are few and their
  summed probability small against the expected matches, so the band narrows:
  reviewers are asked about what could change the outcome, not about every
  faint resemblance.

Pure: plain arrays in, plain numbers out.  The estimates are as good as the
model's calibration (Splink's own caveat); the run reports them beside the
chosen values so a reader can judge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# a threshold above this is no threshold: 1 - 1e-6 keeps pairs whose probability the
# model puts at a million to one merging, and nothing else
CEILING = 1 - 1e-6


@dataclass(frozen=True)
class Thresholds:
    """The chosen values and the model's estimate of the precision they give."""

    match: float  # pairs at or above merge (unless a rule keeps them apart)
    review_lower: float  # pairs from here up to `match` go to review
    estimated_precision: float | None  # mean probability of the pairs at or above `match`
    target_met: bool  # False: even the strongest pairs could not promise the target


def choose_thresholds(
    probabilities: np.ndarray,
    *,
    expected_matches: float,
    target_precision: float,
    target_recall: float,
    floor: float,
) -> Thresholds:
    """Thresholds for one run from the match probabilities of its scored pairs.

    `probabilities`: one per scored pair (any order; pairs below `floor` are ignored,
    as they are neither merged nor reviewed).  `expected_matches`: the summed
    probability of every compared pair, including those below `floor`.
    """
    p = np.sort(np.asarray(probabilities, dtype=float))
    p = p[p >= floor]
    match, precision, met = _match_threshold(p[::-1], target_precision, floor)
    below = p[p < match]
    return Thresholds(
        match=match,
        review_lower=_review_lower(below, expected_matches, target_recall, match, floor),
        estimated_precision=precision,
        target_met=met,
    )


def _match_threshold(
    descending: np.ndarray, target: float, floor: float
) -> tuple[float, float | None, bool]:
    """(threshold, mean probability of the pairs at or above it, whether `target` is met).

    The running mean of a descending sequence only falls, so the last position where it
    still meets the target gives the lowest threshold; among tied probabilities only the
    last of a run counts (a threshold takes all of them or none).
    """
    if not len(descending):
        return CEILING, None, True
    mean = np.cumsum(descending) / np.arange(1, len(descending) + 1)
    run_ends = np.append(descending[1:] != descending[:-1], True)
    meets = np.flatnonzero((mean >= target) & run_ends)
    if not len(meets):
        return CEILING, None, False
    at = int(meets[-1])
    threshold = min(max(float(descending[at]), floor), CEILING)
    merged = descending >= threshold
    return threshold, float(descending[merged].mean()) if merged.any() else None, True


def _review_lower(
    below: np.ndarray, expected_matches: float, target_recall: float, match: float, floor: float
) -> float:
    """The highest probability such that the pairs from `floor` up to it (left unreviewed,
    hence unmerged) hold at most `1 - target_recall` of the expected matches."""
    if not len(below):
        return match
    budget = (1 - target_recall) * max(expected_matches, 0.0)
    spent = np.cumsum(below)  # ascending: the faintest pairs are given up first
    left_out = int(np.searchsorted(spent, budget, side="right"))
    if left_out >= len(below):
        return match
    # ties: the band starts at a probability, so a tie with the first pair kept is kept too
    return max(float(below[left_out]), floor)
