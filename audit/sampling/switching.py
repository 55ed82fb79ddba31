"""Escalation: switching a school between sampling levels, after ANSI/ASQ Z1.4.

Z1.4 (sampling procedures for inspection by attributes) moves a supplier
between normal, tightened and reduced inspection by the record of its recent
lots, and stops accepting its lots after repeated failures under tightened
inspection.  credx applies the same rules to a school's audit cycles:

* normal -> tightened: `tighten_failures` of the last `tighten_window` cycles
  failed (Z1.4: 2 of 5 consecutive lots not accepted);
* tightened -> full review: `full_review_failures` cycles failed while
  tightened (Z1.4: 5 lots not accepted discontinues inspection);
* tightened -> normal: the last `relax_clean` cycles were clean (Z1.4: 5);
* normal -> reduced: the last `reduce_clean` cycles were clean (Z1.4 asks
  for 10 lots with its switching score);
* reduced -> normal: any failed cycle (Z1.4: a lot not accepted);
* full review -> tightened: the last `resume_clean` cycles were clean (Z1.4
  resumes at tightened inspection after corrective action).

A cycle fails when its observed discrepancy rate exceeds `threshold`.  Only
cycles since the school entered its current level count, so every switch
starts a fresh record.  Pure: the caller keeps the history and logs the switch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from audit.sampling.bounds import check_counts
from kernel.errors import InvalidInput


class Level(StrEnum):
    REDUCED = "reduced"
    NORMAL = "normal"
    TIGHTENED = "tightened"
    FULL_REVIEW = "full_review"


@dataclass(frozen=True)
class SwitchingRules:
    """The plan's switching parameters; defaults follow Z1.4 where it gives one."""

    threshold: float = 0.0  # a cycle fails when discrepancies / sampled exceeds this
    tighten_failures: int = 2
    tighten_window: int = 5
    full_review_failures: int = 5
    relax_clean: int = 5
    reduce_clean: int = 10
    resume_clean: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.threshold < 1:
            raise InvalidInput(f"the switching threshold must be in [0, 1) (got {self.threshold})")
        counts = {k: v for k, v in self.__dict__.items() if k != "threshold"}
        for name, value in counts.items():
            if value < 1:
                raise InvalidInput(f"switching rule {name} must be at least 1 (got {value})")
        if self.tighten_failures > self.tighten_window:
            raise InvalidInput("tighten_failures cannot exceed tighten_window")


@dataclass(frozen=True)
class Cycle:
    """One audit cycle of one school: items checked and discrepancies found."""

    sampled: int
    discrepancies: int

    def failed(self, rules: SwitchingRules) -> bool:
        check_counts(self.discrepancies, self.sampled)
        return self.discrepancies / self.sampled > rules.threshold


@dataclass(frozen=True)
class Status:
    """A school's level and the outcomes (True = failed) of its cycles since entering it."""

    level: Level = Level.NORMAL
    outcomes: tuple[bool, ...] = field(default=())


@dataclass(frozen=True)
class Decision:
    status: Status
    switched: bool
    reason: str


def step(status: Status, cycle: Cycle, rules: SwitchingRules) -> Decision:
    """The school's status after one more cycle, and why it moved (or stayed)."""
    outcomes = (*status.outcomes, cycle.failed(rules))
    rule = _RULES[status.level]
    target, reason = rule(outcomes, rules)
    if target is None:
        return Decision(Status(status.level, outcomes), False, reason)
    return Decision(Status(target), True, reason)


def replay(
    cycles: Iterable[Cycle], rules: SwitchingRules, start: Status | None = None
) -> list[Decision]:
    """Every decision over a school's history, oldest first."""
    status, decisions = start or Status(), []
    for cycle in cycles:
        decision = step(status, cycle, rules)
        decisions.append(decision)
        status = decision.status
    return decisions


def _trailing_clean(outcomes: tuple[bool, ...]) -> int:
    count = 0
    for failed in reversed(outcomes):
        if failed:
            break
        count += 1
    return count


def _from_normal(outcomes: tuple[bool, ...], rules: SwitchingRules) -> tuple[Level | None, str]:
    recent = sum(outcomes[-rules.tighten_window :])
    if recent >= rules.tighten_failures:
        return Level.TIGHTENED, (
            f"{recent} of the last {min(len(outcomes), rules.tighten_window)} cycles had "
            f"discrepancies above {rules.threshold:.1%}"
        )
    if _trailing_clean(outcomes) >= rules.reduce_clean:
        return Level.REDUCED, f"{rules.reduce_clean} consecutive clean cycles"
    return None, _stay(outcomes)


def _from_tightened(outcomes: tuple[bool, ...], rules: SwitchingRules) -> tuple[Level | None, str]:
    failures = sum(outcomes)
    if failures >= rules.full_review_failures:
        return Level.FULL_REVIEW, f"{failures} failed cycles under tightened sampling"
    if _trailing_clean(outcomes) >= rules.relax_clean:
        return (
            Level.NORMAL,
            f"{rules.relax_clean} consecutive clean cycles under tightened sampling",
        )
    return None, _stay(outcomes)


def _from_reduced(outcomes: tuple[bool, ...], rules: SwitchingRules) -> tuple[Level | None, str]:
    if outcomes[-1]:
        return Level.NORMAL, f"a cycle had discrepancies above {rules.threshold:.1%}"
    return None, _stay(outcomes)


def _from_full_review(
    outcomes: tuple[bool, ...], rules: SwitchingRules
) -> tuple[Level | None, str]:
    if _trailing_clean(outcomes) >= rules.resume_clean:
        return Level.TIGHTENED, f"{rules.resume_clean} clean full review(s)"
    return None, _stay(outcomes)


def _stay(outcomes: tuple[bool, ...]) -> str:
    return "last cycle failed; no switching rule met" if outcomes[-1] else "no switching rule met"


_RULES = {
    Level.NORMAL: _from_normal,
    Level.TIGHTENED: _from_tightened,
    Level.REDUCED: _from_reduced,
    Level.FULL_REVIEW: _from_full_review,
}
