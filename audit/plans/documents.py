"""An audit plan's rules: what it samples, how many, at which rates, and when it escalates.

The rules are stored as JSON on the plan (`AuditPlan.document`) and validated
here, so the plan *states* its rates: anyone reading `credx audit plan show`
sees exactly what the draw will do before the seed is chosen.

Sizes per stratum and sampling level:

* `fixed` rule: `fixed_count` per school (Louisiana's pre-determined number);
  tightened schools get `tightened_count` (default twice as many), reduced
  ones `reduced_count` (default half, at least 1);
* `attribute` rule: `audit.sampling.sizes.attribute_sample_size` with the
  stratum's population (the hypergeometric form), `confidence`, `tolerable`,
  `expected`, `minimum`, `maximum`; tightened schools use `tightened_tolerable`
  (default half the tolerable rate, so a larger sample), reduced ones
  `reduced_tolerable` (default twice it, at most 0.5);
* full review: every upload of the school;
* uncorroborated uploads (no vendor pass for the linked person and
  credential) form their own stratum `<school>/uncorroborated`, sampled at
  `uncorroborated_rate`: `full` (every one), `same` (the school's rule applied
  to that stratum), or a multiplier such as `2` (twice the rule's size);
* a stratum smaller than its size is taken whole.
"""

from __future__ import annotations

import json
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from audit.sampling.sizes import attribute_sample_size
from audit.sampling.switching import Level, SwitchingRules
from kernel.errors import InvalidInput

UNCORROBORATED_SUFFIX = "/uncorroborated"


class Switching(BaseModel):
    """The switching rules (audit.sampling.switching) written into the plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(default=0.0, ge=0, lt=1)
    tighten_failures: int = Field(default=2, ge=1)
    tighten_window: int = Field(default=5, ge=1)
    full_review_failures: int = Field(default=5, ge=1)
    relax_clean: int = Field(default=5, ge=1)
    reduce_clean: int = Field(default=10, ge=1)
    resume_clean: int = Field(default=1, ge=1)

    def rules(self) -> SwitchingRules:
        return SwitchingRules(**self.model_dump())


class PlanDocument(BaseModel):
    """The plan's sample rule; see the module docstring for what each field does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["fixed", "attribute"]
    fixed_count: int | None = Field(default=None, ge=1)
    tightened_count: int | None = Field(default=None, ge=1)
    reduced_count: int | None = Field(default=None, ge=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    tolerable: float | None = Field(default=None, gt=0, lt=1)
    expected: float = Field(default=0.0, ge=0, lt=1)
    tightened_tolerable: float | None = Field(default=None, gt=0, lt=1)
    reduced_tolerable: float | None = Field(default=None, gt=0, lt=1)
    minimum: int | None = Field(default=None, ge=0)
    maximum: int | None = Field(default=None, ge=1)
    uncorroborated_rate: str = "full"
    switching: Switching = Switching()

    @model_validator(mode="after")
    def _complete(self) -> PlanDocument:
        if self.rule == "fixed" and self.fixed_count is None:
            raise ValueError("a fixed-count plan needs --fixed-count N")
        if self.rule == "attribute" and self.tolerable is None:
            raise ValueError("an attribute-sampling plan needs --tolerable (and --confidence)")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"--min {self.minimum} is larger than --max {self.maximum}")
        uncorroborated_multiplier(self.uncorroborated_rate)
        if self.rule == "attribute":
            for name in ("tolerable", "tightened_tolerable", "reduced_tolerable"):
                rate = self.tolerable_for(name)
                if rate <= self.expected:
                    raise ValueError(f"{name} {rate} must exceed the expected rate {self.expected}")
        return self

    def tolerable_for(self, name: str) -> float:
        base = float(self.tolerable or 0)
        defaults = {
            "tolerable": base,
            "tightened_tolerable": base / 2,
            "reduced_tolerable": min(base * 2, 0.5),
        }
        value = getattr(self, name)
        return float(value) if value is not None else defaults[name]

    def count_for(self, level: Level) -> int:
        base = self.fixed_count or 0
        if level is Level.TIGHTENED:
            return self.tightened_count or base * 2
        if level is Level.REDUCED:
            return self.reduced_count or max(1, math.ceil(base / 2))
        return base

    def rule_size(self, population: int, level: Level) -> int:
        """The rule's size for a stratum of `population` at `level` (at most the population)."""
        if level is Level.FULL_REVIEW:
            return population
        if self.rule == "fixed":
            return min(self.count_for(level), population)
        name = {Level.TIGHTENED: "tightened_tolerable", Level.REDUCED: "reduced_tolerable"}
        tolerable = self.tolerable_for(name.get(level, "tolerable"))
        result = attribute_sample_size(
            str(self.confidence),
            str(tolerable),
            str(self.expected),
            population=population,
            minimum=self.minimum,
            maximum=self.maximum,
        )
        return result.size

    def size(self, population: int, level: Level, *, uncorroborated: bool) -> int:
        """How many to draw from a stratum (school or `<school>/uncorroborated`)."""
        if not uncorroborated:
            return self.rule_size(population, level)
        multiplier = uncorroborated_multiplier(self.uncorroborated_rate)
        if multiplier is None:
            return population
        return min(population, math.ceil(self.rule_size(population, level) * multiplier))

    def rates(self) -> dict[str, str]:
        """The plan's sampling rates in words and numbers, for `plan show` and results."""
        if self.rule == "fixed":
            normal = f"{self.fixed_count} per school"
            levels = {
                "tightened": f"{self.count_for(Level.TIGHTENED)} per school",
                "reduced": f"{self.count_for(Level.REDUCED)} per school",
            }
        else:
            normal = (
                f"attribute sampling: {self.confidence:.0%} confidence, "
                f"{self.tolerable_for('tolerable'):.2%} tolerable, {self.expected:.2%} expected"
            )
            levels = {
                "tightened": f"tolerable {self.tolerable_for('tightened_tolerable'):.2%}",
                "reduced": f"tolerable {self.tolerable_for('reduced_tolerable'):.2%}",
            }
        multiplier = uncorroborated_multiplier(self.uncorroborated_rate)
        if multiplier is None:
            uncorroborated = "every uncorroborated upload (full review)"
        elif multiplier == 1:
            uncorroborated = "the same rule as the school, as a separate stratum"
        else:
            uncorroborated = f"{multiplier:g} times the school's rule, as a separate stratum"
        return {
            "corroborated": normal,
            "uncorroborated": uncorroborated,
            "uncorroborated_rate": self.uncorroborated_rate,
            "full_review": "every upload of the school",
            **levels,
        }


def uncorroborated_multiplier(rate: str) -> float | None:
    """None for `full`, 1 for `same`, else the number (at least 1: never a lower rate)."""
    if rate == "full":
        return None
    if rate == "same":
        return 1.0
    try:
        value = float(rate)
    except ValueError:
        raise ValueError(
            f"--uncorroborated-rate must be full, same or a multiplier such as 2 (got {rate!r})"
        ) from None
    if not math.isfinite(value) or value < 1:
        raise ValueError(
            f"--uncorroborated-rate {rate} would sample uncorroborated uploads less than "
            "corroborated ones; use a multiplier of at least 1, same or full"
        )
    return value


def parse_document(fields: dict) -> PlanDocument:
    """Validate plan rules; a refusal names the option to fix."""
    try:
        return PlanDocument(**fields)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise InvalidInput(f"the audit plan is invalid: {problems}") from None


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def load_document(text: str) -> PlanDocument:
    return PlanDocument(**json.loads(text))


def is_uncorroborated(stratum: str) -> bool:
    return stratum.endswith(UNCORROBORATED_SUFFIX)
