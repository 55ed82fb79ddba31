"""The attainment report: denominators side by side, small cells suppressed, one event per run.

Columns (per group of students, per credential when split by credential):
`enrolled` (rostered students), `completed_sequence` (their roster pathway
leads to the credential: `reports.pathways`), `sat_exam`, `passed_exam`
(vendor results), `earned_verified` (a vendor-confirmed pass, or an upload an
audit found verified), `earned_claimed` (every upload, audited or not, and
every vendor pass), `graduating_class` (the whole graduating cohort) and
`graduates_earned` (of those, how many earned it on the report's basis), with
the state's priority tier and weight beside each credential.

Public output: every count table (one per measure, groups x credentials with
their totals) goes through `reports.suppression` (cells under `min_cell`
hidden, with complementary suppression so no hidden cell follows from the
totals); rates are computed from published counts only.  Totals across
credentials add up cells, i.e. count credential attainments, not persons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlmodel import Session

from eventlog.log import EventLog
from kernel.errors import InvalidInput, NotFound
from kernel.values import school_year as check_school_year
from kernel.values import state_code as check_state
from reports.counts import (
    ALL,
    ANY,
    BASES,
    CONSTANT,
    CREDENTIAL,
    SEPARATOR,
    VARYING,
    CellCounts,
    Grouping,
    count_cells,
)
from reports.events import ReportEvent
from reports.pathways import PathwayMap
from reports.population import Population, Window, gather
from reports.priorities import list_priorities
from reports.suppression import DEFAULT_THRESHOLD, TOTAL, suppress_series, suppress_table

MEASURES = ("enrolled", "completed_sequence", "sat_exam", "passed_exam", "earned_verified",
            "earned_claimed", "graduating_class", "graduates_earned")  # fmt: skip
RATES = {"pass_rate": ("passed_exam", "sat_exam"),
         "graduates_earned_rate": ("graduates_earned", "graduating_class")}  # fmt: skip
MAX_MIN_CELL = 1000  # as CREDX_SUPPRESSION_THRESHOLD


@dataclass(frozen=True)
class ReportRequest:
    """What a caller asks for; `check()` refuses a malformed request with a usable message."""

    state: str
    school_year: str
    by: str = "school,credential"
    cohort: int | None = None
    basis: str = "verified"
    min_cell: int = DEFAULT_THRESHOLD

    def check(self) -> ReportRequest:
        if self.basis not in BASES:
            raise InvalidInput(f"--basis {self.basis}: choose verified or claimed")
        if not 1 <= self.min_cell <= MAX_MIN_CELL:
            raise InvalidInput(f"--min-cell must be from 1 to {MAX_MIN_CELL}, not {self.min_cell}")
        if self.cohort is not None and not 2000 <= self.cohort <= 2100:
            raise InvalidInput(f"--cohort {self.cohort}: give a graduation year such as 2026")
        Grouping.parse(self.by)
        return ReportRequest(
            check_state(self.state), check_school_year(self.school_year), self.by, self.cohort,
            self.basis, self.min_cell,
        )  # fmt: skip

    @property
    def window(self) -> Window:
        return Window(self.state, self.school_year, self.cohort)


@dataclass(frozen=True)
class AttainmentReport:
    """The published table (hidden cells are missing values) and what a reader must know."""

    request: ReportRequest
    columns: tuple[str, ...]
    table: pd.DataFrame
    suppressed_cells: int
    notes: list[str] = field(default_factory=list)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The grouping columns: roster fields, then credential when split by credential."""
        skip = {*MEASURES, *RATES, "priority_tier", "priority_weight"}
        return tuple(c for c in self.columns if c not in skip)

    def records(self) -> list[dict]:
        """The rows as JSON-ready dicts (missing values as None)."""
        frame = self.table.astype(object).where(self.table.notna(), None)
        return frame.to_dict(orient="records")

    def as_json(self) -> dict:
        r = self.request
        return {
            "state": r.state, "school_year": r.school_year, "cohort": r.cohort,
            "graduating_cohort": r.window.graduating_cohort, "basis": r.basis,
            "min_cell": r.min_cell, "by": r.by, "columns": list(self.columns),
            "suppressed_cells": self.suppressed_cells, "notes": self.notes,
            "rows": self.records(),
        }  # fmt: skip


def attainment_report(
    session: Session, request: ReportRequest, pathways: PathwayMap | None, actor: str
) -> AttainmentReport:
    """Build the public report (suppressed) and record that student data was read for it."""
    request = request.check()
    population = gather(session, request.window)
    _require_attainment(population)
    report = publish(population, request, pathways, _priorities(session, request))
    EventLog(session).record(
        ReportEvent.REPORT_GENERATED, f"report:attainment:{request.state}:{request.school_year}",
        actor, by=request.by, cohort=request.cohort, basis=request.basis,
        min_cell=request.min_cell, students=len(population.students),
        suppressed_cells=report.suppressed_cells,
    )  # fmt: skip
    return report


def _require_attainment(population: Population) -> None:
    if population.events:
        return
    w = population.window
    raise NotFound(
        f"{w.state} {w.school_year}: the roster lists {len(population.students)} students but "
        "no exam result or upload is linked to any of them, so there is no attainment to report "
        "(yet): check that vendor files were loaded and that the record linker has run",
        hint=f"run `credx link run --state {w.state}`",
    )


def _priorities(session: Session, request: ReportRequest) -> dict[str, tuple[str, float]]:
    return {
        p.credential_code: (p.tier, p.weight)
        for p in list_priorities(session, request.state, request.school_year)
    }


def publish(
    population: Population, request: ReportRequest, pathways: PathwayMap | None,
    priorities: dict[str, tuple[str, float]],
) -> AttainmentReport:  # fmt: skip
    """The suppressed long table (pure: the counts and the request in, a frame out)."""
    grouping = Grouping.parse(request.by)
    counts = count_cells(population, grouping, pathways, request.basis)
    grids, hidden = _suppressed(counts, request.min_cell)
    rows = _long_rows(grouping, counts, grids, priorities)
    columns = _columns(grouping)
    dims = [c for c in columns if c not in MEASURES and c not in RATES]
    table = pd.DataFrame(rows, columns=dims + list(MEASURES))
    for measure in MEASURES:
        table[measure] = table[measure].astype("Int64")
    if not counts.pathways_configured:
        table["completed_sequence"] = pd.array([pd.NA] * len(table), dtype="Int64")
    for rate, (top, bottom) in RATES.items():
        table[rate] = _rate(table[top], table[bottom])
    notes = _notes(population, counts)
    return AttainmentReport(request, columns, table[list(columns)], hidden, notes)


def _columns(grouping: Grouping) -> tuple[str, ...]:
    dims = grouping.fields + ((CREDENTIAL, "priority_tier", "priority_weight")
                              if grouping.by_credential else ())  # fmt: skip
    return (*dims, *MEASURES[:4], "pass_rate", *MEASURES[4:], "graduates_earned_rate")


def _suppressed(counts: CellCounts, min_cell: int) -> tuple[dict[str, pd.DataFrame], int]:
    """Each measure's published grid (margins included, hidden cells missing)."""
    grids, hidden, done = {}, 0, {}
    for measure, table in counts.varying.items():
        key = table.to_numpy().tobytes()  # same rows and columns: equal grids suppress alike
        if key not in done:  # (passed and verified often are: suppression is the slow part)
            done[key] = suppress_table(table, threshold=min_cell)
        result = done[key]
        grids[measure] = result.published()
        hidden += int(result.suppressed.to_numpy().sum())
    for measure, series in counts.constant.items():
        result = suppress_series(series.rename(measure), threshold=min_cell)
        grids[measure] = result.published()
        hidden += int(result.suppressed.to_numpy().sum())
    return grids, hidden


def _long_rows(
    grouping: Grouping, counts: CellCounts, grids: dict[str, pd.DataFrame],
    priorities: dict[str, tuple[str, float]],
) -> list[list]:  # fmt: skip
    """One row per (group, credential), then each group's Total, each credential's Total,
    and the grand Total.  A report not split by group (or credential) has no such totals:
    they would only repeat the rows."""
    labels = list(counts.varying["sat_exam"].index)
    credentials = list(counts.varying["sat_exam"].columns)
    label_rows = labels + ([TOTAL] if labels != [ALL] else [])
    credential_columns = credentials + ([TOTAL] if grouping.by_credential else [])
    rows = []
    for credential in credential_columns:
        for label in label_rows:
            dims = _dims(grouping, label)
            if grouping.by_credential:
                tier, weight = priorities.get(credential, (None, None))
                dims += [credential, tier, weight]
            values = [grids[m].loc[label, credential] for m in VARYING]
            constant = [grids[m].loc[label].iloc[0] for m in CONSTANT]
            by_name = dict(zip(VARYING + CONSTANT, values + constant, strict=True))
            rows.append(dims + [by_name[m] for m in MEASURES])
    return rows


def _dims(grouping: Grouping, label: str) -> list:
    if not grouping.fields:
        return []
    if label == TOTAL:
        return [TOTAL] * len(grouping.fields)
    return label.split(SEPARATOR)


def _rate(top: pd.Series, bottom: pd.Series) -> pd.Series:
    """top/bottom rounded to 3 places where both are published and bottom > 0."""
    ok = top.notna() & bottom.notna() & (bottom > 0)
    rate = pd.Series([None] * len(top), dtype="Float64", index=top.index)
    rate[ok] = (top[ok].astype(float) / bottom[ok].astype(float)).round(3)
    return rate


def _notes(population: Population, counts: CellCounts) -> list[str]:
    notes = []
    if not counts.pathways_configured:
        notes.append("completed_sequence is empty: no pathway map is loaded for this state")
    if population.unlinked_roster_rows:
        notes.append(
            f"{population.unlinked_roster_rows} roster students are not linked to a person yet, "
            "so none of their results can count until the record linker runs"
        )
    if population.records_outside_roster:
        notes.append(
            f"{population.records_outside_roster} exam results or uploads belong to no student "
            "of this roster (not counted)"
        )
    if counts.varying["sat_exam"].columns.tolist() == [ANY]:
        notes.append("counts are for any credential (not split by credential)")
    return notes
