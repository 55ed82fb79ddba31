"""The dump search of the sealed-demo test: plaintext found, chance runs in ciphertext not."""

from tests.credx.sealed_values import found_in

DUMP = (
    b"COPY public.exam_results (first_name, last_name) FROM stdin;\n"
    b"s1.0123456789abcdef0123.qXEmmaZ9\tSmith\n"
    b'{"student_name": "Ana Lopez", "birth_date": "2008-03-14"}\n'
)


def test_a_delimited_search_counts_stored_values_not_runs_inside_ciphertext():
    values = {"Emma", "Smith", "Ana Lopez", "2008-03-14", "LA1000001"}
    assert found_in(DUMP, values, delimited=True) == ["2008-03-14", "Ana Lopez", "Smith"]
    assert found_in(DUMP, values) == ["2008-03-14", "Ana Lopez", "Emma", "Smith"]


def test_in_a_database_file_only_runs_inside_a_token_that_opens_are_discounted():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from kernel import sealing

    key_id = "0123456789abcdef0123"
    cipher = AESGCM(AESGCM.generate_key(256))
    token = sealing.seal(cipher, key_id, "first_name", "Olivia").encode()
    inside = token.split(b".")[2][8:13].decode()  # five characters of the ciphertext
    # records hold values side by side: an unsealed name written right after a token
    record = b"\x01\x02LA-CP-77" + token + b"Emma" + token + b"\x00"

    def ciphers(wanted: str):
        return cipher if wanted == key_id else None

    assert found_in(record, {inside, "Emma", "Olivia"}, ciphers=ciphers) == ["Emma"]
    assert found_in(record, {inside}) == [inside]  # a plain search counts the chance run
