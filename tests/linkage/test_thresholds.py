"""The merge threshold and review band chosen from targets (`linkage.thresholds`).

Literal probabilities: strong evidence (near-certain pairs, few doubtful ones) lets the
threshold fall and the review band narrow; weak evidence raises the threshold.
"""

from __future__ import annotations

import numpy as np
import pytest

from linkage.thresholds import CEILING, choose_thresholds

TARGETS = {"target_precision": 0.999, "target_recall": 0.999, "floor": 0.5}
DOUBTFUL = [0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98]  # the same doubtful pairs in both runs


def _run(certain: float, many: int) -> np.ndarray:
    return np.array([certain] * many + DOUBTFUL)


def _chosen(probabilities: np.ndarray):
    return choose_thresholds(
        probabilities, expected_matches=float(probabilities.sum()), **TARGETS
    )


def _reviewed(probabilities: np.ndarray, chosen) -> int:
    in_band = (probabilities >= chosen.review_lower) & (probabilities < chosen.match)
    return int(in_band.sum())


def test_strong_evidence_lowers_the_threshold_and_shrinks_the_review_band():
    strong, weak = _run(0.999999, 5_000), _run(0.9995, 300)
    on_strong, on_weak = _chosen(strong), _chosen(weak)
    assert on_strong.match < on_weak.match
    assert _reviewed(strong, on_strong) < _reviewed(weak, on_weak)
    for probabilities, chosen in ((strong, on_strong), (weak, on_weak)):
        merged = probabilities[probabilities >= chosen.match]
        assert merged.mean() >= TARGETS["target_precision"]  # what it promises, it keeps
        assert chosen.estimated_precision == pytest.approx(merged.mean())


def test_the_threshold_is_the_lowest_that_meets_the_target():
    probabilities = np.array([1.0] * 999 + [0.6, 0.5])
    chosen = _chosen(probabilities)
    # 999 certain and one at 0.6: mean 0.9996; adding the 0.5 as well: 0.9990 (still met)
    assert chosen.match == 0.5
    assert choose_thresholds(probabilities, expected_matches=1000.0,
                             **{**TARGETS, "target_precision": 0.9995}).match == 0.6  # fmt: skip


def test_tied_probabilities_are_merged_all_or_none():
    # one pair at 0.9 would keep the mean at 0.99; all thirty bring it to 0.925
    probabilities = np.array([1.0] * 10 + [0.9] * 30)
    chosen = choose_thresholds(probabilities, expected_matches=37.0,
                               **{**TARGETS, "target_precision": 0.95})  # fmt: skip
    assert chosen.match > 0.9 and chosen.estimated_precision == 1.0  # the ties stay apart


def test_weak_evidence_raises_the_threshold_to_the_ceiling_and_says_the_target_is_unmet():
    middling = np.array([0.99, 0.97, 0.9, 0.8, 0.7])  # even the strongest is below 0.999
    chosen = _chosen(middling)
    assert chosen.match == CEILING and not chosen.target_met
    assert chosen.review_lower < 0.99  # nothing merges on score: the doubtful go to review


def test_the_band_narrows_as_the_expected_matches_grow():
    below = np.array([0.55, 0.6, 0.65, 0.9, 0.95])
    few = choose_thresholds(np.append(below, 1.0), expected_matches=10.0, **TARGETS)
    many = choose_thresholds(np.append(below, 1.0), expected_matches=5_000.0, **TARGETS)
    assert few.review_lower == 0.55  # 1 - 0.999 of 10 expected: no pair may be given up
    assert many.review_lower > few.review_lower  # 5 expected matches may be given up


def test_no_pairs_no_merges():
    chosen = _chosen(np.array([0.2, 0.3]))  # all below the floor
    assert chosen.match == CEILING and chosen.estimated_precision is None
