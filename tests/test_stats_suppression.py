"""Small-cell suppression: counts of 1-4 hidden, and no total gives one back by subtraction."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from interviews.suppression import Relation, small, suppress


def test_a_small_count_is_hidden_and_so_is_the_next_smallest_part_of_its_total() -> None:
    counts = {"A": 3, "B": 10, "C": 12, "total": 25}
    hidden = suppress(counts, [Relation("total", ("A", "B", "C"))])
    # Hiding only A would leave A = 25 - 10 - 12; B (the smaller of the rest) goes too.
    assert hidden == {"A", "B"}


def test_hidden_parts_must_not_add_up_to_a_small_count_either() -> None:
    counts = {"A": 1, "B": 2, "C": 20, "D": 30, "total": 53}
    hidden = suppress(counts, [Relation("total", ("A", "B", "C", "D"))])
    # A + B = 3 would follow from the total: C is hidden as well (then A + B + C = 23).
    assert hidden == {"A", "B", "C"}


def test_zero_is_published_and_large_tables_keep_their_total() -> None:
    counts = {"A": 0, "B": 7, "C": 9, "total": 16}
    assert suppress(counts, [Relation("total", ("A", "B", "C"))]) == set()


def test_an_unpublished_remainder_protects_its_published_parts() -> None:
    # Cases 7, of which minors 5: adults (2, never published) would be 7 - 5.
    counts = {"cases": 7, "minors": 5, "adults": 2}
    hidden = suppress(counts, [Relation("cases", ("minors", "adults"))], unpublished=["adults"])
    assert hidden == {"minors"}


def test_large_figures_with_a_large_unpublished_remainder_are_published() -> None:
    # Cases 100, of which minors 50: the 50 adults they imply are nobody's secret.
    counts = {"cases": 100, "minors": 50, "adults": 50}
    assert suppress(counts, [Relation("cases", ("minors", "adults"))], unpublished=["adults"]) == (
        set()
    )


def test_an_empty_unpublished_remainder_leaves_its_relation_alone() -> None:
    # Interviews requested 12 = held 7 + cancelled 5 + the rest 0: nothing to protect.
    counts = {"requested": 12, "held": 7, "cancelled": 5, "rest": 0}
    relation = Relation("requested", ("held", "cancelled", "rest"))
    assert suppress(counts, [relation], unpublished=["rest"]) == set()


def test_only_the_figures_a_small_one_needs_as_cover_are_hidden() -> None:
    # Per facility: cases = minors + adults (unpublished). f1's minors (3) are small, but
    # cases1 (100) does not give them back: its adults are unknown too.
    counts = {
        "cases1": 100, "minors1": 3, "adults1": 97,
        "cases2": 60, "minors2": 40, "adults2": 20,
        "cases": 160, "minors": 43,
    }  # fmt: skip
    relations = [
        Relation("cases1", ("minors1", "adults1")),
        Relation("cases2", ("minors2", "adults2")),
        Relation("cases", ("cases1", "cases2")),
        Relation("minors", ("minors1", "minors2")),
    ]
    hidden = suppress(counts, relations, unpublished=["adults1", "adults2"])
    # minors = minors1 + minors2 would give the 3 back: minors2 goes too; nothing else.
    assert hidden == {"minors1", "minors2"}
    _assert_safe(counts, relations, hidden, frozenset({"adults1", "adults2"}))


def test_a_zero_is_never_hidden_the_total_goes_instead() -> None:
    # B = 6 is hidden to cover A's 3 (by the column total); in the row 6 + 0 = 6 the zero
    # would be no cover (zero is published), so the row's total is hidden.
    counts = {"A": 3, "B": 6, "AB": 9, "Z": 0, "BZ": 6}
    relations = [Relation("AB", ("A", "B")), Relation("BZ", ("B", "Z"))]
    hidden = suppress(counts, relations)
    assert hidden == {"A", "B", "BZ"}


def test_an_unpublished_zero_is_no_cover() -> None:
    # B = 6 covers A's 3; BZ = B + Z where Z (never published) is 0, as "the rest" of a
    # figure that is always the sum of its parts is: BZ would give B back, so it goes.
    counts = {"A": 3, "B": 6, "AB": 9, "Z": 0, "BZ": 6}
    relations = [Relation("AB", ("A", "B")), Relation("BZ", ("B", "Z"))]
    assert suppress(counts, relations, unpublished=["Z"]) == {"A", "B", "BZ"}


def test_a_small_total_hides_with_its_parts() -> None:
    counts = {"A": 2, "B": 1, "total": 3}
    assert suppress(counts, [Relation("total", ("A", "B"))]) == {"A", "B", "total"}


def test_two_dimensional_tables_are_protected_along_rows_and_columns() -> None:
    # Facilities x nationalities with margins; (f1, IN) = 2 is small.
    counts = {
        ("f1", "IN"): 2, ("f1", "NP"): 8, ("f1", "*"): 10,
        ("f2", "IN"): 9, ("f2", "NP"): 6, ("f2", "*"): 15,
        ("*", "IN"): 11, ("*", "NP"): 14, ("*", "*"): 25,
    }  # fmt: skip
    relations = [
        Relation(("f1", "*"), (("f1", "IN"), ("f1", "NP"))),
        Relation(("f2", "*"), (("f2", "IN"), ("f2", "NP"))),
        Relation(("*", "IN"), (("f1", "IN"), ("f2", "IN"))),
        Relation(("*", "NP"), (("f1", "NP"), ("f2", "NP"))),
        Relation(("*", "*"), (("f1", "*"), ("f2", "*"))),
        Relation(("*", "*"), (("*", "IN"), ("*", "NP"))),
    ]
    hidden = suppress(counts, relations)
    assert ("f1", "IN") in hidden
    _assert_safe(counts, relations, hidden, frozenset())


def _assert_safe(
    counts: dict[object, int],
    relations: list[Relation[object]],
    hidden: set[object],
    never: frozenset[object],
) -> None:
    """No relation leaves one figure, or a small sum of figures, to subtraction."""
    # An unpublished zero is no cover: it may be known to be empty.
    secret = hidden | {key for key in never if counts.get(key, 0) > 0}
    for relation in relations:
        members = [relation.total, *relation.parts]
        concealed = [m for m in members if m in secret]
        if not concealed:
            continue
        # One unknown alone follows by subtraction: allowed only for an unpublished
        # figure that is not small (it needs no protection).
        assert len(concealed) >= 2 or (
            concealed[0] in never and not small(counts.get(concealed[0], 0))
        ), relation
        if relation.total not in secret:
            assert not small(sum(counts.get(m, 0) for m in concealed)), relation
    for key, count in counts.items():
        if small(count):
            assert key in secret
        if count == 0:
            assert key not in hidden, key


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=5), min_size=1, max_size=5))
def test_any_table_with_margins_is_left_without_a_disclosure(rows: list[list[int]]) -> None:
    width = max(len(row) for row in rows)
    counts: dict[object, int] = {}
    for r, row in enumerate(rows):
        for c in range(width):
            counts[(r, c)] = row[c] if c < len(row) else 0
    for r in range(len(rows)):
        counts[(r, "*")] = sum(counts[(r, c)] for c in range(width))
    for c in range(width):
        counts[("*", c)] = sum(counts[(r, c)] for r in range(len(rows)))
    counts[("*", "*")] = sum(counts[(r, "*")] for r in range(len(rows)))
    relations: list[Relation[object]] = [
        Relation((r, "*"), tuple((r, c) for c in range(width))) for r in range(len(rows))
    ]
    relations += [Relation(("*", c), tuple((r, c) for r in range(len(rows)))) for c in range(width)]
    relations.append(Relation(("*", "*"), tuple((r, "*") for r in range(len(rows)))))
    relations.append(Relation(("*", "*"), tuple(("*", c) for c in range(width))))
    hidden = suppress(counts, relations)
    _assert_safe(counts, relations, hidden, frozenset())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_a_table_and_its_subset_with_an_unpublished_remainder(
    rows: list[list[tuple[int, int]]],
) -> None:
    """Cases and minors per cell, with margins; adults (cases - minors) never published."""
    width = max(len(row) for row in rows)
    counts: dict[object, int] = {}
    relations: list[Relation[object]] = []
    never: set[object] = set()
    for r, row in enumerate(rows):
        for c in range(width):
            minors, adults = row[c] if c < len(row) else (0, 0)
            counts[("minors", r, c)], counts[("adults", r, c)] = minors, adults
            counts[("cases", r, c)] = minors + adults
            never.add(("adults", r, c))
            relations.append(Relation(("cases", r, c), (("minors", r, c), ("adults", r, c))))
    for name in ("cases", "minors"):
        for r in range(len(rows)):
            counts[(name, r, "*")] = sum(counts[(name, r, c)] for c in range(width))
            relations.append(Relation((name, r, "*"), tuple((name, r, c) for c in range(width))))
        for c in range(width):
            counts[(name, "*", c)] = sum(counts[(name, r, c)] for r in range(len(rows)))
            relations.append(
                Relation((name, "*", c), tuple((name, r, c) for r in range(len(rows))))
            )
    hidden = suppress(counts, relations, unpublished=never)
    _assert_safe(counts, relations, hidden, frozenset(never))
    if not any(small(count) for count in counts.values()):
        # Nothing small, nothing to protect: everything is published.
        assert hidden == set()
