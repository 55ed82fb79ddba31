"""Linking a standalone roster file (CSV or Parquet): one `record_id, person_id` row per input row.

Values are read as text and every value is tolerated (a bad date or an
empty name only weakens that record's comparisons).  Only a missing
required column refuses the file.  Rows are linked under their row number,
so a repeated or empty `record_id` still gets its own output row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from kernel.csvfile import write_frame
from kernel.errors import InvalidInput
from linkage.columns import CANONICAL_COLUMNS, REQUIRED_FILE_COLUMNS
from linkage.engine import LinkParameters, LinkResult, Progress, link_records
from linkage.identity import person_id


@dataclass
class FileLinkage:
    rows: int
    persons: int
    review_pairs: int
    flagged_clusters: int
    pairs_scored: int
    model_version: str
    input_sha256: str
    warnings: list[str] = field(default_factory=list)
    review_reasons: dict[str, int] = field(default_factory=dict)
    estimated_precision: float | None = None
    estimated_recall: float | None = None
    match_threshold: float | None = None  # chosen for this run (linkage.thresholds)
    review_lower: float | None = None


def read_table(path: Path) -> pd.DataFrame:
    """Every column as text; Parquet detected by its magic bytes, anything else is CSV."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    with path.open("rb") as handle:
        magic = handle.read(4)
    try:
        if magic == b"PAR1":
            frame = pq.read_table(path).to_pandas()
            return frame.astype(object).where(frame.notna(), None)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise InvalidInput(f"{path}: not a readable CSV or Parquet file ({exc})") from exc


def _check_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns})
    missing = [c for c in REQUIRED_FILE_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"{path}: missing column(s) {', '.join(missing)}; a roster needs "
            f"{', '.join(REQUIRED_FILE_COLUMNS)} (optional: "
            f"{', '.join(c for c in CANONICAL_COLUMNS if c not in REQUIRED_FILE_COLUMNS)})"
        )
    return frame


def link_file(
    source: Path,
    output: Path,
    *,
    params: LinkParameters,
    engine: str = "duckdb",
    progress: Progress | None = None,
) -> FileLinkage:
    frame = _check_columns(read_table(source), source)
    original_ids = frame["record_id"].tolist()
    records = frame[[c for c in CANONICAL_COLUMNS if c in frame.columns]].copy()
    records["record_id"] = [str(i) for i in range(len(records))]
    result = link_records(records, engine=engine, parameters=params, progress=progress)
    persons = _person_ids(result)
    out = pd.DataFrame(
        {"record_id": original_ids, "person_id": [persons[str(i)] for i in range(len(records))]}
    )
    _write(out, output)
    return FileLinkage(
        rows=len(out),
        persons=out["person_id"].nunique(),
        review_pairs=len(result.review_pairs),
        flagged_clusters=len(result.flagged_clusters),
        pairs_scored=result.pairs_scored,
        model_version=result.model.version,
        input_sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        warnings=result.warnings,
        review_reasons=result.review_reasons(),
        estimated_precision=result.estimated_precision,
        estimated_recall=result.estimated_recall,
        match_threshold=result.match_threshold,
        review_lower=result.review_lower,
    )


def _person_ids(result: LinkResult) -> dict[str, str]:
    taken: set[str] = set()
    ids = {c: person_id("file", c, taken) for c in sorted(set(result.clusters.values()))}
    return {record: ids[cluster] for record, cluster in result.clusters.items()}


def _write(out: pd.DataFrame, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() in (".parquet", ".pq"):
        out.astype(str).to_parquet(output, index=False)
    else:
        write_frame(out, output)
