"""Adversarial pairs: different students that share an identifier, a home or a name.

Each entry is two records of two different people that a linker trusting one
identifier (or a surname, birth date and address) would merge.  Sequential
numbering puts classmates one edit apart; a district clerk types one child's
id on a sibling's form; twins share everything but a first name; a parent who
sits a vendor exam shares the child's name and address.  `ID_ONLY` names the
pairs that agree on an identifier and on nothing that says who the person is:
those must reach review as `id_conflict`.
"""

from __future__ import annotations

import pandas as pd


def student(record_id: str, first: str, last: str, dob: str, **extra: str) -> dict:
    return {
        "record_id": record_id,
        "first_name": first,
        "last_name": last,
        "birth_date": dob,
        "state": "LA",
        **extra,
    }


HOME = {"address": "412 Bayou Rd", "postcode": "70501", "school_code": "36001"}
ADVERSARIAL: dict[str, tuple[dict, dict]] = {
    "sequential_ids_one_digit": (
        student("a1", "Marcus", "Johnson", "2008-04-11", state_student_id="LA1000001",
                school_code="36001", gender="M"),
        student("a2", "Keisha", "Williams", "2007-09-23", state_student_id="LA1000007",
                school_code="36001", gender="F"),
    ),
    "sequential_ids_transposed": (
        student("b1", "Tyler", "Broussard", "2008-01-30", state_student_id="LA1000012",
                school_code="36002"),
        student("b2", "Aaliyah", "Domingue", "2009-06-02", state_student_id="LA1000021",
                school_code="36002"),
    ),
    "sequential_ids_same_birthday_and_school": (
        student("j1", "Zoe", "Mouton", "2008-10-10", state_student_id="LA1000101",
                school_code="36003"),
        student("j2", "Caleb", "Savoie", "2008-10-10", state_student_id="LA1000102",
                school_code="36003"),
    ),
    "shared_id_different_people": (
        student("c1", "Jennifer", "Nguyen", "2007-12-05", state_student_id="LA2000456"),
        student("c2", "Darnell", "Robinson", "2008-08-19", state_student_id="LA2000456"),
    ),
    "shared_id_same_school_and_gender": (
        student("d1", "Emily", "Guidry", "2008-02-14", state_student_id="3004417",
                school_code="36005", gender="F", postcode="70506"),
        student("d2", "Hannah", "Arceneaux", "2007-10-03", state_student_id="3004417",
                school_code="36005", gender="F", postcode="70506"),
    ),
    "shared_candidate_id": (
        student("e1", "Kevin", "Landry", "2008-05-09", source="nccer", source_person_id="NC0000001",
                state_student_id="LA3000001"),
        student("e2", "Brianna", "Fontenot", "2007-03-27", source="nccer",
                source_person_id="NC0000001", state_student_id="LA3000002"),
    ),
    "twins": (
        student("f1", "Emma", "Thibodeaux", "2008-09-09", state_student_id="LA4000101",
                gender="F", **HOME),
        student("f2", "Olivia", "Thibodeaux", "2008-09-09", state_student_id="LA4000102",
                gender="F", **HOME),
    ),
    "twins_one_id_typed_for_both": (
        student("g1", "Jacob", "Hebert", "2008-03-03", state_student_id="LA4000201", gender="M",
                **HOME),
        student("g2", "Joshua", "Hebert", "2008-03-03", state_student_id="LA4000201", gender="M",
                **HOME),
    ),
    "siblings_same_address": (
        student("h1", "Madison", "Richard", "2007-05-17", state_student_id="LA4000301",
                gender="F", **HOME),
        student("h2", "Ethan", "Richard", "2009-01-08", state_student_id="LA4000302",
                gender="M", **HOME),
    ),
    "parent_and_child_same_name": (
        student("i1", "Robert", "Trahan", "1979-03-02", middle_name="James", gender="M",
                source="nocti", source_person_id="NO7700001", **HOME),
        student("i2", "Robert", "Trahan", "2008-07-15", middle_name="James", gender="M",
                state_student_id="LA4000401", **HOME),
    ),
}  # fmt: skip

ID_ONLY = (
    "sequential_ids_same_birthday_and_school",
    "shared_id_different_people",
    "shared_id_same_school_and_gender",
    "shared_candidate_id",
)


def adversarial_frame() -> pd.DataFrame:
    return pd.DataFrame([r for pair in ADVERSARIAL.values() for r in pair])
