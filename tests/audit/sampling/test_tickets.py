"""Tickets and draws: the published test vector, ordering, strata, expansion."""

import pytest

from audit.sampling.tickets import Item, draw, ranked, ticket
from kernel.errors import InvalidInput

SEED = "01382438112797316654"


def population(schools: dict[str, int]) -> list[Item]:
    return [Item(f"{school}-{n}", school) for school, size in schools.items() for n in range(size)]


def test_the_published_test_vector_of_rivests_consistent_sampler():
    expected = "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"
    assert ticket(SEED, "AB-130") == expected


def test_tickets_depend_on_seed_and_id_and_have_at_least_64_digits():
    tickets = {ticket(seed, item) for seed in ("1", "2") for item in ("a", "b")}
    assert len(tickets) == 4
    assert all(t.startswith("0.") and len(t) >= 66 and t[2:].isdigit() for t in tickets)


def test_each_stratum_is_ranked_by_ticket_value_then_id():
    order = ranked(population({"east": 30, "west": 20}), SEED)
    assert list(order) == ["east", "west"]
    for stratum, items in order.items():
        keys = [(float(t.ticket), t.id) for t in items]
        assert keys == sorted(keys) and {t.stratum for t in items} == {stratum}
        assert [t.rank for t in items] == list(range(1, len(items) + 1))


def test_draw_takes_the_lowest_tickets_and_a_whole_stratum_when_smaller():
    items = population({"big": 40, "small": 3})
    sample = draw(items, SEED, 5)
    big = [t.id for t in sample if t.stratum == "big"]
    assert big == [t.id for t in ranked(items, SEED)["big"][:5]]
    assert sorted(t.id for t in sample if t.stratum == "small") == ["small-0", "small-1", "small-2"]


def test_input_order_does_not_change_the_draw():
    items = population({"a": 25, "b": 25})
    assert draw(items, SEED, 4) == draw(list(reversed(items)), SEED, 4)


def test_expansion_continues_the_same_ticket_order():
    items = population({"a": 50, "b": 50})
    first = draw(items, SEED, 5)
    more = draw(items, SEED, {"a": 10}, already=5)
    assert draw(items, SEED, {"a": 15, "b": 5}) == sorted(
        [*first, *more], key=lambda t: (t.stratum, t.rank)
    )
    assert {t.stratum for t in more} == {"a"} and [t.rank for t in more] == list(range(6, 16))


def test_a_different_seed_gives_a_different_sample():
    items = population({"a": 100})
    assert {t.id for t in draw(items, SEED, 10)} != {t.id for t in draw(items, "other", 10)}


@pytest.mark.parametrize("seed", ["", "   ", " 123", "123\n"])
def test_an_empty_or_padded_seed_is_refused(seed):
    with pytest.raises(InvalidInput, match="seed"):
        draw(population({"a": 3}), seed, 1)


def test_an_empty_population_or_duplicate_id_is_refused():
    with pytest.raises(InvalidInput, match="empty"):
        draw([], SEED, 1)
    with pytest.raises(InvalidInput, match="twice"):
        draw([Item("x", "a"), Item("x", "b")], SEED, 1)
    with pytest.raises(InvalidInput, match="negative"):
        draw(population({"a": 3}), SEED, -1)
