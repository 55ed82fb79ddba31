"""Standalone roster files: read any CSV or Parquet, refuse only a missing column."""

import pytest

from kernel.errors import InvalidInput
from linkage.engine import LinkParameters
from linkage.files import link_file
from tests.linkage.records import all_fixtures


def test_a_missing_required_column_is_refused_with_what_is_needed(tmp_path):
    source = tmp_path / "no_dob.csv"
    all_fixtures().drop(columns=["birth_date"]).to_csv(source, index=False)
    with pytest.raises(InvalidInput, match=r"missing column\(s\) birth_date"):
        link_file(source, tmp_path / "out.csv", params=LinkParameters())
    assert not (tmp_path / "out.csv").exists()


def test_an_unreadable_file_is_refused(tmp_path):
    source = tmp_path / "binary.csv"
    source.write_bytes(b"\xff\xfe\x00garbage\x00" * 10)
    with pytest.raises(InvalidInput):
        link_file(source, tmp_path / "out.csv", params=LinkParameters())
    with pytest.raises(InvalidInput, match="no such file"):
        link_file(tmp_path / "absent.csv", tmp_path / "out.csv", params=LinkParameters())
