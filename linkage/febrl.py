"""The FEBRL benchmark files as canonical records, with their truth.

FEBRL (Christen's Febrl generator) records carry given name, surname, street
number and two address lines, suburb, postcode, an Australian state, a birth
date as `YYYYMMDD` and a social security number.  Mapped to credx's columns:
the social security number is the person identifier (`state_student_id`), the
street lines and suburb are `address`; FEBRL's state is a part of the address
there (a typo'd state is one of its errors), not a jurisdiction, so `state` is
left empty (one linkage run).  `true_person_id` is the number in `rec_id`.
Used by the benchmark and the tests; the files live with the tests
(`tests/linkage/data/febrl/`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def read_febrl(paths: Iterable[Path]) -> pd.DataFrame:
    """The records of one or more FEBRL CSV files (FEBRL 4 is its two files together)."""
    frames = [
        pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False) for path in paths
    ]
    raw = pd.concat(frames, ignore_index=True)
    raw.columns = [c.strip() for c in raw.columns]
    address = (
        raw["street_number"] + " " + raw["address_1"] + " " + raw["address_2"]
        + " " + raw["suburb"]
    ).str.split().str.join(" ")  # fmt: skip
    return pd.DataFrame(
        {
            "record_id": raw["rec_id"].str.strip(),
            "first_name": raw["given_name"],
            "last_name": raw["surname"],
            "birth_date": raw["date_of_birth"],
            "state_student_id": raw["soc_sec_id"],
            "address": address,
            "postcode": raw["postcode"],
            "true_person_id": raw["rec_id"].str.extract(r"rec-(\d+)", expand=False),
        }
    )
