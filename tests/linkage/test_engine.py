"""The linker on literal fixtures: each error process links; twins and strangers do not."""

import pandas as pd
import pytest

from linkage.engine import Constraints, LinkParameters, link_records
from linkage.model import LinkModel
from tests.linkage.records import ERROR_PAIRS, STRANGERS, TWINS, all_fixtures, frame, rec


@pytest.fixture(scope="module")
def linked():
    return link_records(all_fixtures())


@pytest.mark.parametrize("process", sorted(ERROR_PAIRS))
def test_each_error_process_links(linked, process):
    left, right = ERROR_PAIRS[process]
    assert linked.clusters[left["record_id"]] == linked.clusters[right["record_id"]]


def test_twins_stay_two_persons_and_are_queued(linked):
    assert linked.clusters["t1"] != linked.clusters["t2"]
    reasons = linked.review_pairs.set_index(["record_id_l", "record_id_r"])["reason"]
    assert reasons[("t1", "t2")] == "first_name_differs"


def test_different_people_do_not_link(linked):
    assert len({linked.clusters[r["record_id"]] for r in STRANGERS}) == 3


def test_one_cluster_id_per_record_and_model_is_versioned_json(linked):
    assert set(linked.clusters) == set(all_fixtures()["record_id"])
    again = LinkModel.from_json(linked.model.to_json())
    assert again.version == linked.model.version
    assert len(linked.model.inputs_sha256) == 64


def test_same_input_gives_same_clusters_and_model(linked):
    shuffled = all_fixtures().sample(frac=1, random_state=3)
    second = link_records(shuffled)
    assert second.clusters == linked.clusters
    assert second.model.version == linked.model.version
    assert second.model.inputs_sha256 == linked.model.inputs_sha256


def test_a_saved_model_scores_new_input_the_same(linked):
    again = link_records(all_fixtures(), model=linked.model)
    assert again.clusters == linked.clusters


def test_cannot_link_keeps_a_pair_apart_and_must_link_joins():
    left, right = ERROR_PAIRS["nickname"]
    apart = link_records(
        frame(left, right, *STRANGERS),
        constraints=Constraints(cannot_link=[("n1", "n2")], must_link=[("x1", "x3")]),
    )
    assert apart.clusters["n1"] != apart.clusters["n2"]
    assert apart.clusters["x1"] == apart.clusters["x3"]


def test_two_state_ids_are_flagged_not_merged():
    records = frame(
        {**ERROR_PAIRS["nickname"][0], "state_student_id": "1111111"},
        {**ERROR_PAIRS["nickname"][1], "state_student_id": "9999999"},
    )
    result = link_records(records)
    assert result.clusters["n1"] != result.clusters["n2"]
    assert set(result.flagged_clusters) == {"n1", "n2"}


def test_cluster_size_cap_flags_chains():
    people = [dict(TWINS[0], record_id=f"c{i}", middle_name=f"M{i}") for i in range(4)]
    result = link_records(frame(*people), parameters=LinkParameters(max_cluster_size=2))
    assert max(pd.Series(result.clusters).value_counts()) == 2
    assert (result.review_pairs["reason"] == "cluster_size").any()


def test_same_candidate_id_within_a_vendor_links_deterministically():
    """A retake under one candidate id links even with a typo in the first name."""
    records = frame(
        {**STRANGERS[0], "source": "nccer", "source_person_id": "NC1"},
        {**STRANGERS[0], "record_id": "x4", "first_name": "Jhon", "middle_name": "Q",
         "source": "nccer", "source_person_id": "NC1"},
        {**STRANGERS[2], "source": "certiport", "source_person_id": "NC1"},
    )  # fmt: skip
    result = link_records(records, parameters=LinkParameters(match_threshold=1.0))
    assert result.clusters["x1"] == result.clusters["x4"] != result.clusters["x3"]


def test_a_candidate_id_shared_by_two_different_people_goes_to_review():
    records = frame(
        {**STRANGERS[0], "source": "nccer", "source_person_id": "NC1"},
        {**STRANGERS[1], "source": "nccer", "source_person_id": "NC1"},
    )
    result = link_records(records)
    assert result.clusters["x1"] != result.clusters["x2"]
    assert list(result.review_pairs["reason"]) == ["id_conflict"]


def test_states_never_mix():
    left, right = ERROR_PAIRS["nickname"]
    result = link_records(frame(left, {**right, "state": "TN"}))
    assert result.clusters["n1"] != result.clusters["n2"]


def test_same_state_id_with_compatible_name_and_date_is_certain():
    """A deterministic rule: a retake under a nickname with a mistyped date still links."""
    records = frame(
        rec("d1", "Elizabeth", "Fontenot", "2007-11-02", state_student_id="LA123"),
        rec("d2", "Beth", "Fontenot-Hebert", "2007-11-20", state_student_id="LA123"),
    )
    strict = LinkParameters(match_threshold=1.0)  # only certain pairs merge
    assert link_records(records, parameters=strict).clusters["d2"] == "d1"


def test_same_state_id_with_another_first_name_is_not_certain():
    records = frame(
        rec("d1", "Elizabeth", "Fontenot", "2007-11-02", state_student_id="LA123"),
        rec("d2", "Marcus", "Fontenot", "1999-01-01", state_student_id="LA123"),
    )
    strict = LinkParameters(match_threshold=1.0)  # only certain pairs merge
    result = link_records(records, parameters=strict)
    assert result.clusters["d1"] != result.clusters["d2"]


def test_scoring_in_chunks_gives_the_same_persons(linked):
    chunked = link_records(all_fixtures(), parameters=LinkParameters(predict_chunk_records=4))
    assert chunked.clusters == linked.clusters
    assert chunked.pairs_scored == linked.pairs_scored
