"""Agreements that each cover some states, and one delivery whose rows span several states,
so tests can see each row land under its own state's agreement (or none)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from agreements.store import store_terms
from credx.app import App
from kernel.database import session_scope
from tests.factories import blanket_terms, csv_text, exam_row, write_file


def agree(
    app: App, vendor: str, agreement_id: str, states: Iterable[str], codes: Iterable[str],
    **overrides: object,
) -> None:  # fmt: skip
    """Store an agreement `agreement_id` covering only `states` and `codes`."""
    terms = blanket_terms(
        vendor, codes=list(codes), id=agreement_id, states=tuple(states), **overrides
    )
    with session_scope(app.engine) as session:
        store_terms(session, terms, document=agreement_id, actor="test")


def multi_state_file(tmp_path: Path) -> Path:
    """Five rows: TN MICRO001 and MICRO002, LA MICRO001 and MICRO002, FL MICRO001."""
    rows = [
        exam_row(
            1, state="TN", credential_code="MICRO001", score="800", state_student_id="TN0000001"
        ),
        exam_row(
            2, state="TN", credential_code="MICRO002", score="810", state_student_id="TN0000002"
        ),
        exam_row(
            3, state="LA", credential_code="MICRO001", score="820", state_student_id="LA0000003"
        ),
        exam_row(
            4, state="LA", credential_code="MICRO002", score="830", state_student_id="LA0000004"
        ),
        exam_row(
            5, state="FL", credential_code="MICRO001", score="840", state_student_id="FL0000005"
        ),
    ]
    return write_file(tmp_path, "consortium.csv", csv_text(rows))
