"""Manifest CSV: canonical bytes, and every refusal naming its line."""

import hashlib

import pytest

from audit.manifests import canonical_bytes, parse_manifest, read_manifest, write_manifest
from audit.sampling.tickets import Item
from kernel.errors import InvalidInput


def test_canonical_form_sorts_by_stratum_then_id_and_quotes_only_when_needed():
    items = [Item("b-2", "west"), Item("a,1", "west"), Item("z", "east"), Item('q"x', "east")]
    assert canonical_bytes(items) == (b'id,stratum\n"q""x",east\nz,east\n"a,1",west\nb-2,west\n')


def test_write_then_read_round_trips_and_digests_the_bytes(tmp_path):
    items = [Item("é-1", "Lycée"), Item("2", "A")]
    path = tmp_path / "m.csv"
    digest = write_manifest(items, path)
    manifest = read_manifest(path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest() == manifest.sha256
    assert set(manifest.items) == set(items) and manifest.canonical_sha256 == digest


def test_crlf_a_bom_and_any_order_read_the_same_items():
    plain = parse_manifest(b"id,stratum\na,s\nb,s\n")
    other = parse_manifest("\ufeffid,stratum\r\nb,s\r\na,s\r\n".encode())
    assert set(plain.items) == set(other.items)
    assert plain.sha256 != other.sha256 and plain.canonical_sha256 == other.canonical_sha256


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the manifest is empty"),
        (b"\n \n", "the manifest is empty"),
        (b"a,s\nb,s\n", "line 1: the header must be exactly `id,stratum`"),
        (b"id;stratum\na;s\n", "line 1: the header"),
        (b"id,stratum\n", "no items"),
        (b"id,stratum\na,s\nb,t\na,u\n", "line 4: id 'a' repeats line 2"),
        (b"id,stratum\na,s\n,s\n", "line 3: the id is empty"),
        (b"id,stratum\na,\n", "line 2: the stratum is empty"),
        (b"id,stratum\na,s,extra\n", "line 2 has 3 fields"),
        (b"id,stratum\na\n", "line 2 has 1 fields"),
        (b"id,stratum\na,s\n\nb,s\n", "line 3 is blank"),
        (b"id,stratum\n a,s\n", "line 2: the id ' a' has leading or trailing spaces"),
        (b"id,stratum\na,s\nb\xff,s\n", "line 3: not UTF-8"),
        (b'id,stratum\n"a,s\n', "line"),
    ],
)
def test_bad_manifests_are_refused_with_the_line(data, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        parse_manifest(data)


def test_missing_file_and_invalid_population_are_refused(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        read_manifest(tmp_path / "none.csv")
    with pytest.raises(InvalidInput, match="repeats"):
        write_manifest([Item("a", "s"), Item("a", "t")], tmp_path / "m.csv")
    assert not (tmp_path / "m.csv").exists()
