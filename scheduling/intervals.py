"""Interval algebra on sorted lists of half-open integer intervals [start, end).

Slot search works in whole minutes since the Unix epoch (UTC), so every set of free or
busy time is a sorted list of disjoint `(start, end)` integer pairs and every operation
is a linear merge; membership is a binary search.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

Interval = tuple[int, int]
Intervals = list[Interval]


def normalize(items: Iterable[Interval]) -> Intervals:
    """Sort, drop empty intervals and merge overlapping or touching ones."""
    merged: Intervals = []
    last_end = 0
    for start, end in sorted(items):
        if end <= start:
            continue
        if merged and start <= last_end:
            if end > last_end:
                merged[-1] = (merged[-1][0], end)
                last_end = end
        else:
            merged.append((start, end))
            last_end = end
    return merged


def union(*sets: Sequence[Interval]) -> Intervals:
    """Every instant covered by at least one of the sets."""
    return normalize(i for s in sets for i in s)


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> Intervals:
    """Instants in both normalized sets."""
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def intersect_all(sets: Sequence[Sequence[Interval]]) -> Intervals:
    """Instants in every one of the normalized sets (empty when no sets are given)."""
    if not sets:
        return []
    out = list(sets[0])
    for other in sets[1:]:
        out = intersect(out, other)
        if not out:
            break
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> Intervals:
    """Instants of normalized `a` not in normalized `b`."""
    out: Intervals = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(a: Sequence[Interval], low: int, high: int) -> Intervals:
    """The part of normalized `a` inside [low, high)."""
    if low >= high:
        return []
    # Binary search for both ends (a search clips dozens of schedules to its window).
    first = max(bisect_right(a, (low, low)) - 1, 0)
    out = [item for item in a[first : bisect_left(a, (high, high))] if item[1] > low]
    if out:
        if out[0][0] < low:
            out[0] = (low, out[0][1])
        if out[-1][1] > high:
            out[-1] = (out[-1][0], high)
    return out


def starts_fitting(a: Sequence[Interval], length: int) -> Intervals:
    """Start instants s such that [s, s + length) lies inside one interval of `a`.

    Returned as half-open start sets: [start, end - length + 1).
    """
    return [(start, end - length + 1) for start, end in a if end - start >= length]


def find(a: Sequence[Interval], point: int) -> int:
    """Index of the interval of normalized `a` that contains `point`, or -1."""
    index = bisect_right(a, (point, float("inf"))) - 1
    if index >= 0 and a[index][0] <= point < a[index][1]:
        return index
    return -1


def contains(a: Sequence[Interval], point: int) -> bool:
    """True when `point` lies in normalized `a`."""
    return find(a, point) >= 0


def covers(a: Sequence[Interval], start: int, end: int) -> bool:
    """True when all of [start, end) lies inside one interval of normalized `a`."""
    index = find(a, start)
    return index >= 0 and a[index][1] >= end


def overlaps(a: Sequence[Interval], start: int, end: int) -> bool:
    """True when [start, end) shares any instant with normalized `a`."""
    index = bisect_right(a, (end, float("-inf"))) - 1
    return index >= 0 and a[index][1] > start and a[index][0] < end


def total(a: Sequence[Interval]) -> int:
    """Summed length of the intervals."""
    return sum(end - start for start, end in a)
