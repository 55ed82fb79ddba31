"""Counting persons into report cells: plain data in, count tables out (no I/O).

A report groups students by some of their roster fields (`school`, `gender`,
...) and, optionally, by credential.  Measures that depend on the credential
(sat the exam, passed, earned) form a table of groups x credentials; measures
that do not (enrolled, the whole graduating class) form one count per group.
Each cell counts distinct persons: a retake or a second upload adds nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import pandas as pd

from reports.pathways import PathwayMap
from reports.population import CLAIMED, PASSED, SAT, SUBGROUPS, VERIFIED, Population, Student

CREDENTIAL = "credential"
GROUP_FIELDS = ("state", "district", "school", *SUBGROUPS)
BY_CHOICES = (CREDENTIAL, *GROUP_FIELDS)
ANY = "any"  # the column of a report not split by credential: any credential at all
ALL = "all"  # the row of a report not split by any roster field
SEPARATOR = "\x1f"
# measures per (group, credential), in report order
VARYING = ("completed_sequence", "sat_exam", "passed_exam", "earned_verified", "earned_claimed",
           "graduates_earned")  # fmt: skip
CONSTANT = ("enrolled", "graduating_class")  # per group, whatever the credential
BASES = ("verified", "claimed")


@dataclass(frozen=True)
class Grouping:
    """The roster fields rows are keyed by (school brings its district: codes repeat across
    districts) and whether columns are credentials."""

    fields: tuple[str, ...]
    by_credential: bool

    @classmethod
    def parse(cls, by: str | list[str]) -> Grouping:
        from kernel.errors import InvalidInput

        names = [n.strip() for n in (by.split(",") if isinstance(by, str) else by) if n.strip()]
        unknown = [n for n in names if n not in BY_CHOICES]
        if unknown or not names or len(set(names)) != len(names):
            raise InvalidInput(
                f"--by {','.join(names) or '(empty)'}: give distinct names from "
                f"{', '.join(BY_CHOICES)}"
            )
        fields = [n for n in names if n != CREDENTIAL]
        if "school" in fields and "district" not in fields:
            fields.insert(fields.index("school"), "district")
        return cls(tuple(fields), CREDENTIAL in names)

    def label(self, student: Student, state: str) -> str:
        if not self.fields:
            return ALL
        return SEPARATOR.join(_value(student, name, state) for name in self.fields)


def _value(student: Student, name: str, state: str) -> str:
    if name == "state":
        return state
    if name == "district":
        return student.district
    value = getattr(student, name)
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


@dataclass(frozen=True)
class CellCounts:
    """`varying[measure]`: groups x credentials; `constant[measure]`: a count per group."""

    varying: dict[str, pd.DataFrame]
    constant: dict[str, pd.Series]
    pathways_configured: bool


def count_cells(
    population: Population, grouping: Grouping, pathways: PathwayMap | None, basis: str
) -> CellCounts:
    """Distinct persons per cell for every measure."""
    state = population.window.state
    labels = {p: grouping.label(s, state) for p, s in population.students.items()}
    graduating = {
        p for p, s in population.students.items()
        if s.graduation_cohort == population.window.graduating_cohort
    }  # fmt: skip
    cells = _person_sets(population, pathways, grouping.by_credential, basis, graduating)
    rows = sorted(set(labels.values()))
    columns = sorted({c for (_m, c) in cells}) or [ANY]
    tallies: dict[str, Counter] = {measure: Counter() for measure in VARYING}
    for (measure, credential), persons in cells.items():
        tallies[measure].update((labels[person], credential) for person in persons)
    varying = {measure: _table(tally, rows, columns) for measure, tally in tallies.items()}
    constant = {
        "enrolled": _per_group(labels, set(labels), rows),
        "graduating_class": _per_group(labels, graduating, rows),
    }
    return CellCounts(varying, constant, pathways is not None)


def _table(tally: Counter, rows: list[str], columns: list[str]) -> pd.DataFrame:
    grid = [[tally[(row, column)] for column in columns] for row in rows]
    return pd.DataFrame(grid, index=rows, columns=columns, dtype="int64")


def _per_group(labels: dict[str, str], persons: set[str], rows: list[str]) -> pd.Series:
    tally = Counter(labels[person] for person in persons)
    return pd.Series([tally[row] for row in rows], index=rows, dtype="int64")


def _person_sets(
    population: Population, pathways: PathwayMap | None, by_credential: bool, basis: str,
    graduating: set[str],
) -> dict[tuple[str, str], set[str]]:  # fmt: skip
    """{(measure, credential or ANY): persons}."""
    named = {SAT: "sat_exam", PASSED: "passed_exam", VERIFIED: "earned_verified",
             CLAIMED: "earned_claimed"}  # fmt: skip
    cells: dict[tuple[str, str], set[str]] = defaultdict(set)
    for person, credential, event in population.events:
        column = credential if by_credential else ANY
        cells[(named[event], column)].add(person)
        if event == (VERIFIED if basis == "verified" else CLAIMED) and person in graduating:
            cells[("graduates_earned", column)].add(person)
    if pathways is not None:
        for person, student in population.students.items():
            for credential in pathways.credentials_of(student.pathway):
                cells[("completed_sequence", credential if by_credential else ANY)].add(person)
    return cells
