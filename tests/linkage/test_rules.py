"""First names the comparison calls different but a typo'd nickname, swapped names or a
middle name explain: the `first_name_differs` rule stands down; twins stay vetoed."""

import pandas as pd
import pytest

from linkage.engine import link_records
from linkage.rules import related_first_names
from tests.linkage.records import frame, rec, review_reasons, together


@pytest.mark.parametrize(
    ("left", "right"),
    [("miky", "michael"), ("jokhny", "jonathan"), ("pady", "patrick"), ("william", "bill")],
)
def test_a_typo_of_a_nickname_is_a_related_first_name(left, right):
    assert related_first_names(left, right)
    assert related_first_names(right, left)


@pytest.mark.parametrize(
    ("left", "right"),
    [("jacob", "joshua"), ("emma", "olivia"), ("kim", "kate"), (None, "ann")],
)
def test_different_names_and_short_near_misses_are_not_related(left, right):
    assert not related_first_names(left, right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(  # Michael on a vendor's file, "Miky" on the district's
            rec("m1", "Michael", "Gray", "2006-11-16", state_student_id="1145336861"),
            rec("m2", "Miky", "Gray", "2006-11-16", state_student_id="1145336861"),
            id="a typo'd nickname under one state id",
        ),
        pytest.param(
            rec("s1", "Nicole", "Gonzalez", "2010-05-12", state_student_id="1143229651"),
            rec("s2", "Gonzalfz", "Nicole", "2010-05-12", state_student_id="1143229651"),
            id="names swapped with a typo",
        ),
        pytest.param(  # a name the nickname table does not know; the full middle name agrees
            rec("p1", "Jose", "Duong", "2009-02-08", middle_name="Gabriel", state_student_id="77"),
            rec("p2", "Pepe", "Duong", "2009-02-08", middle_name="Gabriel", state_student_id="77"),
            id="the same full middle name under one id",
        ),
    ],
)
def test_first_names_that_differ_but_are_explained_link(left, right):
    """Same id, surname and birth date; the first names differ in a way that explains itself."""
    result = link_records(frame(left, right))
    assert together(result, left["record_id"], right["record_id"])


def test_twins_under_one_typed_id_without_a_middle_name_stay_apart_and_are_queued():
    result = link_records(
        frame(
            rec("g1", "Jacob", "Hebert", "2008-03-03", state_student_id="LA4000201"),
            rec("g2", "Joshua", "Hebert", "2008-03-03", state_student_id="LA4000201"),
        )
    )
    assert not together(result, "g1", "g2")
    assert review_reasons(result)[("g1", "g2")] == "first_name_differs"


def test_twins_whose_middle_names_differ_too_are_settled_apart_without_review():
    """First and middle names both differ, no id ties them: two people, nothing to ask."""
    twins = frame(
        rec("t1", "Emma", "Nguyen", "2008-09-09", middle_name="Rose", school_code="103"),
        rec("t2", "Olivia", "Nguyen", "2008-09-09", middle_name="Jane", school_code="103"),
    )
    result = link_records(twins)
    assert not together(result, "t1", "t2")
    assert ("t1", "t2") not in review_reasons(result)
    same_id = link_records(twins.assign(state_student_id="LA4000301"))
    assert not together(same_id, "t1", "t2")
    assert review_reasons(same_id)[("t1", "t2")] == "first_name_differs"


def test_a_typod_nickname_with_a_conflicting_middle_name_stays_vetoed():
    result = link_records(
        pd.DataFrame(
            [
                rec("k1", "Michael", "Gray", "2006-11-16", middle_name="Eric"),
                rec("k2", "Miky", "Gray", "2006-11-16", middle_name="Paul"),
            ]
        )
    )
    assert not together(result, "k1", "k2")
