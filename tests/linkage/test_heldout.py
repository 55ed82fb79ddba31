"""Accuracy floors on data the linker was not built from: the held-out generator and FEBRL.

Floors, not the issue's targets (those are `bench/linkage.py`'s, at full size): a
regression that costs a point of recall or precision fails here in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.engine import link_records
from linkage.febrl import read_febrl
from linkage.heldout import heldout_records
from tests.linkage.scoring_helpers import pairwise

FEBRL = Path(__file__).parent / "data" / "febrl"


@pytest.fixture(scope="module")
def heldout():
    records = heldout_records(5_000, seed=3)
    return records, link_records(records.drop(columns=["true_person_id"]))


def test_the_held_out_generator_is_deterministic_and_spans_states_with_moves():
    first, again = heldout_records(2_000, seed=9), heldout_records(2_000, seed=9)
    assert first.equals(again)
    assert first["state"].nunique() == 5
    person = first["true_person_id"].str.split("@").str[0]
    assert (first.groupby(person)["state"].nunique() > 1).any()  # someone moved


def test_held_out_records_link_with_high_precision_and_recall(heldout):
    records, result = heldout
    precision, recall = pairwise(records.set_index("record_id")["true_person_id"], result.clusters)
    assert precision >= 0.995 and recall >= 0.99, (precision, recall)


def test_states_never_share_a_person_even_for_a_student_who_moved(heldout):
    records, result = heldout
    state = records.set_index("record_id")["state"]
    per_cluster = state.groupby(state.index.map(result.clusters)).nunique()
    assert per_cluster.max() == 1


@pytest.mark.parametrize(
    "files", [("dataset3.csv",), ("dataset4a.csv", "dataset4b.csv")], ids=["febrl3", "febrl4"]
)
def test_febrl_links_with_high_precision_and_recall(files):
    records = read_febrl([FEBRL / f for f in files])
    result = link_records(records.drop(columns=["true_person_id"]))
    precision, recall = pairwise(records.set_index("record_id")["true_person_id"], result.clusters)
    assert precision >= 0.999 and recall >= 0.99, (precision, recall)
    # FEBRL replaces whole fields: the run says the rules stood down, and why
    assert any(w.startswith("rules: ") for w in result.warnings), result.warnings
