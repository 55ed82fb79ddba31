"""credx's own small interface over the linkage engine (Splink).

`link_records` takes a frame of canonical records (`linkage.columns`) and
returns which records are one person.  Nothing outside `linkage/` imports
Splink: a different engine (or Splink 6) changes this package only.

Engines: `"duckdb"` (in-process, the default) and `"spark"` (a consortium's
records beyond one machine).  Both run the same Splink settings, built by
`linkage.spec.build_settings`; `linkage.spark.database_api()` supplies the
Spark database API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from linkage.clusters import Constraints, cluster_edges
from linkage.model import LinkModel
from linkage.normalise import prepare_records
from linkage.notices import collected
from linkage.rules import RELIABLE_BELOW, unreliable_fields
from linkage.scoring import LinkParameters, Scored, score_pairs
from linkage.thresholds import Thresholds, choose_thresholds

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# the fields a rule rests on (clusters.VETOES, two_state_ids)
RULE_FIELDS = ("first_name", "last_name", "birth_date", "state_student_id")

__all__ = ["Constraints", "LinkModel", "LinkParameters", "LinkResult", "link_records"]


@dataclass
class LinkResult:
    """What one linkage run found.

    `clusters`: record_id -> cluster id (the smallest record_id of the cluster),
    one entry per input record, always.  `review_pairs`: columns `record_id_l,
    record_id_r, match_probability, match_weight, reason` — pairs in the review
    band, or kept apart because merging them would break a rule
    (`reason` = `uncertain`, `two_state_ids`, `cluster_size`, `cannot_link`,
    `first_name_differs`, `two_persons` when incremental).  `flagged_clusters`:
    cluster ids that a rule kept from merging.  `warnings`: plain-language notes
    for the operator (capped blocks, what the engine warned about while training),
    never with names or dates in them.
    """

    clusters: dict[str, str]
    review_pairs: pd.DataFrame
    flagged_clusters: list[str]
    model: LinkModel
    warnings: list[str] = field(default_factory=list)
    pairs_scored: int = 0
    # the model's own estimates for this clustering (`estimates`)
    estimated_precision: float | None = None
    estimated_recall: float | None = None
    # what this run merged from and reviewed from (`thresholds`)
    match_threshold: float | None = None
    review_lower: float | None = None

    def persons(self) -> int:
        return len(set(self.clusters.values()))

    def review_reasons(self) -> dict[str, int]:
        """How many pairs went to review, per reason (largest first)."""
        counts = self.review_pairs["reason"].value_counts()
        return {str(k): int(v) for k, v in counts.items()}


def link_records(
    records: pd.DataFrame,
    *,
    engine: str = "duckdb",
    model: LinkModel | None = None,
    constraints: Constraints | None = None,
    parameters: LinkParameters | None = None,
    progress: Progress | None = None,
    only_new: set[str] | None = None,
) -> LinkResult:
    """Link `records` (canonical columns; missing optional columns are allowed).

    With no `model`, one is trained on `records` (fixed seed; small inputs use
    the expert priors without training), so the same input gives the same
    clusters.  `constraints` are reviewers' must-link / cannot-link decisions.
    `only_new` (incremental linking, needs `model`): score only pairs that
    involve one of these record ids; `constraints.anchors` holds the persons
    the other records already belong to.
    """
    if only_new is not None and model is None:
        raise ValueError("incremental linking needs the model of an earlier run")
    params = parameters or LinkParameters()
    say = progress or (lambda _msg: None)
    prepared = prepare_records(records)
    say(f"{len(prepared.frame):,} records normalised")
    new_reps = None if only_new is None else {prepared.representative[r] for r in only_new}
    with collected() as engine_warnings:
        scored = score_pairs(
            prepared, engine=engine, model=model, params=params, progress=say, only_new=new_reps
        )
    say(f"{scored.pairs_scored:,} candidate pairs scored")
    unreliable = unreliable_fields({c: scored.model.m_differs(c) for c in RULE_FIELDS})
    chosen = thresholds(scored, params)
    say(f"merging from probability {chosen.match:.6g}, reviewing from {chosen.review_lower:.6g}")
    run_params = replace(params, match_threshold=chosen.match, review_lower=chosen.review_lower)
    clustering = cluster_edges(
        prepared, scored.edges, constraints or Constraints(), params=run_params,
        unreliable=unreliable,
    )  # fmt: skip
    precision, recall = estimates(clustering.merged_pairs, clustering.merged_mass,
                                  scored.expected_matches)  # fmt: skip
    return LinkResult(
        estimated_precision=precision,
        estimated_recall=recall,
        clusters=clustering.clusters,
        review_pairs=clustering.review_pairs,
        flagged_clusters=clustering.flagged,
        model=scored.model,
        warnings=prepared.warnings + scored.warnings + engine_warnings + _relaxed(unreliable)
        + _unmet(chosen, params),
        pairs_scored=scored.pairs_scored,
        match_threshold=chosen.match,
        review_lower=chosen.review_lower,
    )  # fmt: skip


def thresholds(scored: Scored, params: LinkParameters) -> Thresholds:
    """The run's match threshold and review band: fixed when `params` fixes the threshold,
    else chosen from the targets on the model's own probabilities of the scored pairs."""
    if params.match_threshold is not None:
        return Thresholds(params.match_threshold, params.review_lower, None, True)
    return choose_thresholds(
        scored.edges["match_probability"].to_numpy(dtype=float),
        expected_matches=scored.expected_matches,
        target_precision=params.target_precision,
        target_recall=params.target_recall,
        floor=params.review_lower,
    )


def _unmet(chosen: Thresholds, params: LinkParameters) -> list[str]:
    if chosen.target_met:
        return []
    return [
        f"thresholds: the model's match probabilities cannot promise the target precision "
        f"{params.target_precision} even for its strongest pairs (weak evidence), so only "
        f"pairs at {chosen.match:.6g} or above merge on their score; the rest go to review"
    ]


def estimates(
    merged_pairs: int, merged_mass: float, expected_matches: float
) -> tuple[float | None, float | None]:
    """The model's own precision and recall for a clustering, over the scored pairs.

    Precision: the mean match probability of the scored pairs that ended in one person.
    Recall: their summed probability over the summed probability of every compared pair
    (the matches the model expects among them).  Estimates, not truth: they are as good
    as the model is calibrated, and pairs no blocking rule compares are not counted.
    """
    precision = merged_mass / merged_pairs if merged_pairs else None
    recall = min(1.0, merged_mass / expected_matches) if expected_matches > 0 else None
    return precision, recall


def _relaxed(unreliable: frozenset[str]) -> list[str]:
    if not unreliable:
        return []
    return [
        f"rules: in this data matching pairs disagree entirely on {', '.join(sorted(unreliable))} "
        f"in {RELIABLE_BELOW:.0%} or more of cases on average (the trained model's estimate), "
        "so no rule keeps pairs apart on them: only the scores decide"
    ]


def describe(result: LinkResult) -> dict[str, Any]:
    """Counts for logs and `--json` (no names, no dates)."""
    return {
        "records": len(result.clusters),
        "persons": result.persons(),
        "pairs_scored": result.pairs_scored,
        "review_pairs": len(result.review_pairs),
        "review_reasons": result.review_reasons(),
        "estimated_precision": result.estimated_precision,
        "estimated_recall": result.estimated_recall,
        "match_threshold": result.match_threshold,
        "review_lower": result.review_lower,
        "flagged_clusters": len(result.flagged_clusters),
        "model_version": result.model.version,
    }
