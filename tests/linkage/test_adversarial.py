"""No merge on one identifier: the adversarial pairs stay apart, on priors and trained.

On today's main (before issue 17) a pair agreeing only on a state student id, or on
ids one edit apart, was merged below the training minimum: the id's weight outweighed
total disagreement on names and birth date.
"""

import pandas as pd
import pytest

from linkage.engine import LinkParameters, link_records
from linkage.synthetic import generate
from tests.linkage.adversarial import ADVERSARIAL, ID_ONLY, adversarial_frame
from tests.linkage.records import review_reasons


@pytest.fixture(scope="module")
def on_priors():
    """The table alone: 18 records, far below the training minimum."""
    return link_records(adversarial_frame())


@pytest.fixture(scope="module")
def trained():
    """The table inside 2,600 generated records: the model is trained (u and m)."""
    population = generate(2_600, seed=5).records.drop(columns=["true_person_id"])
    population["state"] = "LA"
    records = pd.concat([population, adversarial_frame()], ignore_index=True)
    result = link_records(records)
    assert result.model.trained
    return result


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_each_pair_alone_stays_apart(case):
    left, right = ADVERSARIAL[case]
    result = link_records(pd.DataFrame([left, right]))
    assert result.clusters[left["record_id"]] != result.clusters[right["record_id"]]


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_no_pair_of_the_table_is_merged(on_priors, trained, case):
    left, right = (r["record_id"] for r in ADVERSARIAL[case])
    assert on_priors.clusters[left] != on_priors.clusters[right]
    assert trained.clusters[left] != trained.clusters[right]


@pytest.mark.parametrize("case", ID_ONLY)
def test_agreement_on_an_id_only_goes_to_review_as_id_conflict(on_priors, trained, case):
    key = tuple(sorted(r["record_id"] for r in ADVERSARIAL[case]))
    assert review_reasons(on_priors).get(key) == "id_conflict"
    assert review_reasons(trained).get(key) == "id_conflict"


@pytest.mark.parametrize("case", ["sequential_ids_one_digit", "sequential_ids_transposed"])
def test_sequential_ids_never_compared_are_not_queued_under_another_reason(on_priors, case):
    """Classmates one id apart with nothing else in common: no blocking rule pairs them,
    so no merge and no review pair (a queue of every such pair would bury reviewers)."""
    key = tuple(sorted(r["record_id"] for r in ADVERSARIAL[case]))
    assert review_reasons(on_priors).get(key, "id_conflict") == "id_conflict"


def test_an_id_conflict_leaves_both_records_flagged(on_priors):
    flagged = set(on_priors.flagged_clusters)
    for case in ID_ONLY:
        assert {on_priors.clusters[r["record_id"]] for r in ADVERSARIAL[case]} <= flagged


def test_the_same_student_under_one_id_with_a_nickname_still_links():
    """The rule asks for agreement beyond the id, not for identical records."""
    records = pd.DataFrame(
        [
            {"record_id": "k1", "first_name": "William", "last_name": "Guidry",
             "birth_date": "2008-06-01", "state": "LA", "state_student_id": "LA5000001"},
            {"record_id": "k2", "first_name": "Bill", "last_name": "Guidry",
             "birth_date": "2008-06-01", "state": "LA", "state_student_id": "LA5000001"},
        ]
    )  # fmt: skip
    result = link_records(records, parameters=LinkParameters())
    assert result.clusters["k1"] == result.clusters["k2"]


def test_below_the_training_minimum_a_shared_id_alone_does_not_outweigh_the_rest(on_priors):
    """The priors themselves (not only the veto) score an id-only pair as a non-match."""
    key = tuple(sorted(r["record_id"] for r in ADVERSARIAL["shared_id_different_people"]))
    pairs = on_priors.review_pairs.set_index(["record_id_l", "record_id_r"])
    assert not on_priors.model.trained
    assert pairs.loc[key, "match_probability"] < 0.5
