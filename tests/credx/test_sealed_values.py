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
