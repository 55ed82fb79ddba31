"""Every switching transition, and what does not switch."""

import pytest

from audit.sampling.switching import Cycle, Level, Status, SwitchingRules, replay, step
from kernel.errors import InvalidInput

RULES = SwitchingRules(threshold=0.05)
CLEAN, FAILED = Cycle(50, 0), Cycle(50, 5)


def levels(cycles, start=Level.NORMAL):
    return [d.status.level for d in replay(cycles, RULES, Status(start))]


def test_a_rate_at_the_threshold_is_clean_and_above_it_fails():
    assert not Cycle(100, 5).failed(RULES) and Cycle(100, 6).failed(RULES)


def test_normal_to_tightened_after_two_failures_in_five_cycles():
    history = [FAILED, CLEAN, CLEAN, CLEAN, FAILED]
    decisions = replay(history, RULES)
    assert [d.switched for d in decisions] == [False] * 4 + [True]
    assert decisions[-1].status == Status(Level.TIGHTENED)
    assert decisions[-1].reason == "2 of the last 5 cycles had discrepancies above 5.0%"


def test_failures_further_apart_than_the_window_do_not_tighten():
    assert levels([FAILED, CLEAN, CLEAN, CLEAN, CLEAN, FAILED])[-1] == Level.NORMAL


def test_tightened_to_full_review_after_five_failures():
    history = [FAILED, CLEAN, FAILED, FAILED, CLEAN, FAILED, FAILED]
    assert levels(history, Level.TIGHTENED)[-1] == Level.FULL_REVIEW
    assert levels(history[:-1], Level.TIGHTENED)[-1] == Level.TIGHTENED


def test_tightened_back_to_normal_after_five_clean_cycles():
    result = replay([FAILED, *[CLEAN] * 5], RULES, Status(Level.TIGHTENED))
    assert [d.status.level for d in result] == [Level.TIGHTENED] * 5 + [Level.NORMAL]
    assert "5 consecutive clean" in result[-1].reason


def test_normal_to_reduced_after_ten_clean_cycles_and_back_on_a_failure():
    result = levels([*[CLEAN] * 10, CLEAN, FAILED])
    assert result[8] == Level.NORMAL and result[9] == Level.REDUCED
    assert result[10:] == [Level.REDUCED, Level.NORMAL]


def test_full_review_resumes_at_tightened_after_a_clean_review():
    assert levels([FAILED, CLEAN], Level.FULL_REVIEW) == [Level.FULL_REVIEW, Level.TIGHTENED]


def test_a_switch_starts_a_fresh_record():
    # the two failures that tightened must not count towards full review
    after = levels([FAILED, FAILED, FAILED, FAILED, FAILED])
    assert after[1] == Level.TIGHTENED and after[-1] == Level.TIGHTENED
    assert levels([FAILED] * 7)[-1] == Level.FULL_REVIEW


def test_step_keeps_outcomes_while_staying():
    decision = step(Status(), FAILED, RULES)
    assert not decision.switched and decision.status.outcomes == (True,)
    assert "last cycle failed" in decision.reason


@pytest.mark.parametrize(
    "kwargs", [{"threshold": 1.0}, {"tighten_window": 0}, {"tighten_failures": 6}]
)
def test_nonsense_rules_are_refused(kwargs):
    with pytest.raises(InvalidInput):
        SwitchingRules(**kwargs)


def test_an_empty_cycle_is_refused():
    with pytest.raises(InvalidInput, match="empty"):
        step(Status(), Cycle(0, 0), RULES)
