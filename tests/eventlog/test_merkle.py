"""Merkle trees against the RFC 6962 / Certificate Transparency reference vectors."""

import hashlib

import pytest

from eventlog.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
)

# certificate-transparency reference leaves and the roots of their prefixes of size 1..8
DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
DATA.append("606162636465666768696a6b6c6d6e6f")
LEAVES = [leaf_hash(bytes.fromhex(d)) for d in DATA]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_empty_tree_and_the_three_leaf_shape_by_hand():
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert root([a, b, c]) == node_hash(node_hash(a, b), c)  # k = 2: left is the perfect tree
    assert root([a]) == hashlib.sha256(b"\x00a").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_reference_vectors(size):
    assert root(LEAVES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(old, new, proof):
    assert [p.hex() for p in consistency_proof(old, LEAVES[:new])] == proof
    old_root, new_root = root(LEAVES[:old]), root(LEAVES[:new])
    assert verify_consistency(old, new, old_root, new_root, [bytes.fromhex(p) for p in proof])


def test_every_prefix_of_larger_trees_is_provably_consistent_and_tampering_is_not():
    leaves = [leaf_hash(bytes([i, i * 7 % 256])) for i in range(37)]
    for new in range(1, 38):
        new_root = root(leaves[:new])
        for old in range(1, new + 1):
            proof = consistency_proof(old, leaves[:new])
            assert verify_consistency(old, new, root(leaves[:old]), new_root, proof)
            wrong_old = root([leaf_hash(b"x"), *leaves[1:old]])
            assert not verify_consistency(old, new, wrong_old, new_root, proof)
            if proof:
                bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
                assert not verify_consistency(old, new, root(leaves[:old]), new_root, bad)


def test_impossible_sizes_do_not_verify():
    assert not verify_consistency(5, 3, ROOTS[0].encode(), ROOTS[0].encode(), [])
    with pytest.raises(ValueError):
        consistency_proof(9, LEAVES)
