"""Small-cell suppression: no published figure may reveal a count of 1 to 4 people.

Primary suppression hides every count from 1 to `THRESHOLD - 1`. Complementary
suppression then looks at each *relation* the published figures satisfy (a total and
the parts it adds up to, e.g. cases = minors + adults): if the hidden parts of a relation
could be worked out by subtraction — one hidden figure alone, or hidden figures whose
sum comes to 1–4 — it hides the next smallest figure of that relation, and repeats over
all relations until nothing changes. Parts that are never published (adults, when only
cases and minors are) take part as figures that are always hidden.

Zero is published: it tells nothing about anyone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

THRESHOLD = 5
SUPPRESSED_TEXT = "<5"

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Relation(Generic[K]):
    """`total` equals the sum of `parts` (keys of figures, published or not)."""

    total: K
    parts: tuple[K, ...]


def small(count: int) -> bool:
    """True for a count of people that must not be published (1 to THRESHOLD - 1)."""
    return 0 < count < THRESHOLD


def suppress(
    counts: Mapping[K, int],
    relations: Iterable[Relation[K]],
    *,
    unpublished: Iterable[K] = (),
) -> set[K]:
    """The keys of `counts` to hide (primary and complementary), never the unpublished ones.

    `counts` holds every figure of the relations, the unpublished parts included; a key
    missing from `counts` counts as 0.
    """
    never = set(unpublished)
    hidden: set[K] = {key for key, count in counts.items() if small(count)} | never
    relations = list(relations)
    # Work list: a relation is looked at again only when one of its figures was just hidden.
    containing: dict[K, list[int]] = {}
    for number, relation in enumerate(relations):
        for key in (relation.total, *relation.parts):
            containing.setdefault(key, []).append(number)
    pending = deque(range(len(relations)))
    queued = set(pending)
    while pending:
        number = pending.popleft()
        queued.discard(number)
        extra = _complement(counts, relations[number], hidden, never)
        if extra is None:
            continue
        hidden.add(extra)
        for again in (number, *containing.get(extra, ())):
            if again not in queued:
                queued.add(again)
                pending.append(again)
    return hidden - never


def _complement(
    counts: Mapping[K, int], relation: Relation[K], hidden: set[K], never: set[K]
) -> K | None:
    members = (relation.total, *relation.parts)
    hidden_members = [key for key in members if key in hidden]
    if not hidden_members:
        return None
    if relation.total in hidden:
        # The total is hidden: the parts reveal it only if they are all shown.
        if len(hidden_members) > 1:
            return None
    else:
        hidden_sum = sum(counts.get(key, 0) for key in hidden_members)
        if len(hidden_members) > 1 and not small(hidden_sum):
            return None
        only = hidden_members[0]
        if len(hidden_members) == 1 and only in never and counts.get(only, 0) == 0:
            # An unpublished part that is empty discloses nothing.
            return None
    candidates = [key for key in relation.parts if key not in hidden and key not in never]
    # The smallest non-zero part hides the least information; a zero only if nothing else.
    nonzero = [key for key in candidates if counts.get(key, 0) > 0]
    pool = nonzero or candidates
    if pool:
        return min(pool, key=lambda key: (counts.get(key, 0), repr(key)))
    if relation.total not in hidden and relation.total not in never:
        return relation.total
    return None
