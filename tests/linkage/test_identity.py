"""Stable ids: kept by overlap, merges and splits recorded, fresh ids deterministic."""

from linkage.identity import assign_ids


def test_a_rerun_with_the_same_clusters_keeps_every_id():
    previous = {"a": "P1", "b": "P1", "c": "P2"}
    result = assign_ids({"a": "a", "b": "a", "c": "c"}, previous, state="LA", existing={"P1", "P2"})
    assert result.person_of_cluster == {"a": "P1", "c": "P2"}
    assert not result.new_persons and not result.retired


def test_a_merge_keeps_the_larger_id_and_retires_the_other():
    previous = {"a": "P1", "b": "P1", "c": "P2"}
    result = assign_ids({"a": "a", "b": "a", "c": "a"}, previous, state="LA", existing={"P1", "P2"})
    assert result.person_of_cluster == {"a": "P1"}
    assert result.retired == {"P2": ("P1", "merged")}
    assert result.merged == {"P1": ["P2"]}


def test_a_split_keeps_the_id_on_the_larger_part_and_gives_the_rest_a_new_one():
    previous = {"a": "P1", "b": "P1", "c": "P1"}
    result = assign_ids({"a": "a", "b": "a", "c": "c"}, previous, state="LA", existing={"P1"})
    assert result.person_of_cluster["a"] == "P1"
    fresh = result.person_of_cluster["c"]
    assert fresh != "P1" and result.new_persons == [fresh]
    assert result.split == {"P1": sorted(["P1", fresh])}


def test_new_ids_are_deterministic_and_never_reuse_an_existing_id():
    one = assign_ids({"x": "x"}, {}, state="LA", existing=set())
    two = assign_ids({"x": "x"}, {}, state="LA", existing=set())
    assert one.person_of_cluster == two.person_of_cluster
    taken = set(one.person_of_cluster.values())
    three = assign_ids({"x": "x"}, {}, state="LA", existing=taken)
    assert three.person_of_cluster["x"] not in taken
