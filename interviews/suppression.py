"""Small-cell suppression: no published figure may reveal a count of 1 to 4 people.

Primary suppression hides every count from 1 to `THRESHOLD - 1`. Secondary
(complementary) suppression then looks at each *relation* the figures satisfy (a total
and the parts it adds up to, e.g. cases = minors + adults): when a hidden figure is the
only unknown of a relation (so subtraction gives it back), or the unknowns of a relation
add up to 1–4, it hides the smallest other non-zero part (the total if there is none),
and repeats over all relations until nothing changes.

Parts that are never published (adults, when only cases and minors are) are unknowns
that need protecting only when they are small themselves: cases 100 and minors 50 are
both published, since the 50 adults they imply are nobody's secret; an unpublished part
of zero is no cover. Zero is always published: it tells nothing about anyone. Figures
of 5 or more are hidden only when a small one needs them as cover.
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
    """The keys of `counts` to hide (primary and secondary), never the unpublished ones.

    `counts` holds every figure of the relations, the unpublished parts included; a key
    missing from `counts` counts as 0.
    """
    never = set(unpublished)
    hidden: set[K] = {key for key, count in counts.items() if small(count)}
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
    # An unpublished figure of zero is no cover: it may be known to be empty (confirmed +
    # not confirmed are every identified case; the rest is always 0).
    unknown = [key for key in members if key in hidden or (key in never and counts.get(key, 0) > 0)]
    if not unknown:
        return None
    if len(unknown) == 1:
        # One unknown figure follows from the others: harmless unless it is protected.
        if unknown[0] not in hidden:
            return None
    elif relation.total in unknown or not small(sum(counts.get(key, 0) for key in unknown)):
        return None
    # Hide the smallest other non-zero part (it hides the least); zero is always published,
    # so when every other part is zero or unknown, the total goes instead.
    others = [
        key
        for key in relation.parts
        if key not in hidden and key not in never and counts.get(key, 0) > 0
    ]
    if others:
        return min(others, key=lambda key: (counts.get(key, 0), repr(key)))
    total = relation.total
    if total not in hidden and total not in never and counts.get(total, 0) > 0:
        return total
    return None
