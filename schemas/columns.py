"""The vendor exam-result file's canonical columns, apart from the schema that checks them.

Kept out of `exam_results` so that what only names the columns (agreements' column
mappings, the web app) does not import pandas, pandera and pyarrow with the schema.
"""

from __future__ import annotations

CANONICAL_COLUMNS = (
    "vendor_record_id", "candidate_id", "state_student_id", "first_name", "middle_name",
    "last_name", "birth_date", "state", "district_code", "school_code", "credential_code",
    "exam_code", "exam_date", "score", "passing_score", "result", "attempt",
)  # fmt: skip
OPTIONAL_COLUMNS = frozenset(
    {"state_student_id", "middle_name", "school_code", "score", "passing_score", "attempt"}
)
REQUIRED_COLUMNS = tuple(c for c in CANONICAL_COLUMNS if c not in OPTIONAL_COLUMNS)
NUMERIC_COLUMNS = frozenset({"score", "passing_score", "attempt"})
DATE_COLUMNS = frozenset({"birth_date", "exam_date"})
