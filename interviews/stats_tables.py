"""From raw figures to publishable tables: roll-ups, the relations between figures, suppression.

Both the dashboard (one dimension at a time, with a total row) and the exchange export
(facility × nationality per month and country, with margins) go through here, so every
figure that leaves the database has passed `suppression.suppress`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

from interviews.indicators import (
    ALL,
    BREAKDOWNS,
    CASE_COUNTS,
    DAY_MEASURES,
    INTERVIEW_COUNTS,
    RawFigures,
    percentile,
)
from interviews.suppression import THRESHOLD, Relation, suppress

K = TypeVar("K", bound=Hashable)

# Figures that are parts of another figure of the same cell; what is left over is never
# published but still counts for complementary suppression (cases − minors = adults).
SUBSETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cases_opened", ("minors",)),
    ("minors", ("unaccompanied_minors",)),
    ("cases_opened", ("cases_interviewed",)),
    ("cases_opened", ("cases_identified",)),
    ("cases_opened", ("cases_past_deadline",)),
    ("cases_identified", ("identity_confirmed", "identity_not_confirmed")),
    ("interviews_requested", ("interviews_held", "interviews_no_show", "interviews_cancelled")),
)
RATES = {
    "identity_confirmed_rate": ("identity_confirmed", "cases_identified"),
    "identity_not_confirmed_rate": ("identity_not_confirmed", "cases_identified"),
}
NATIONALITY_COUNTS = CASE_COUNTS + INTERVIEW_COUNTS


@dataclass
class Published:
    """Figures ready to publish: counts with hidden keys, and day measures."""

    counts: dict[Hashable, int] = field(default_factory=dict)
    hidden: set[Hashable] = field(default_factory=set)
    days: dict[Hashable, tuple[int | None, int | None]] = field(default_factory=dict)

    def count(self, key: Hashable) -> int | None:
        """The count, or None when it is suppressed."""
        return None if key in self.hidden else self.counts.get(key, 0)


def cross_relations(
    counts: dict[K, int], key_of: Callable[[str], K]
) -> tuple[list[Relation[K]], list[K]]:
    """Relations between the indicators of one cell, with their unpublished remainders."""
    relations: list[Relation[K]] = []
    unpublished: list[K] = []
    for position, (total, parts) in enumerate(SUBSETS):
        total_key = key_of(total)
        if total_key not in counts:
            continue
        part_keys = tuple(key_of(part) for part in parts)
        rest = key_of(f"_rest{position}_{total}")
        counts[rest] = counts[total_key] - sum(counts.get(k, 0) for k in part_keys)
        unpublished.append(rest)
        relations.append(Relation(total_key, (*part_keys, rest)))
    return relations, unpublished


def day_measures(histogram: Counter[int] | None) -> tuple[int | None, int | None]:
    """(median, 90th percentile) in days, or (None, None) with fewer than THRESHOLD cases."""
    if histogram is None or sum(histogram.values()) < THRESHOLD:
        return None, None
    return percentile(histogram, 0.5), percentile(histogram, 0.9)


# -- the dashboard: one dimension, a total row -------------------------------------------------

DIMENSIONS = ("period", "country", "facility", "nationality")


def _label(raw: RawFigures, dimension: str, fine_period: str, facility_id: int, nat: str) -> str:
    if dimension == "period":
        return fine_period
    if dimension == "country":
        return raw.facilities.get(facility_id, ("", ""))[0]
    if dimension == "facility":
        return raw.facilities.get(facility_id, ("", ""))[1]
    return nat


@dataclass
class Table:
    """One dimension's rows (labels in order) and a total, each indicator suppressed."""

    dimension: str
    rows: list[str]
    figures: Published

    def value(self, indicator: str, row: str) -> int | None:
        """A count (None: suppressed); `row` ALL is the total."""
        return self.figures.count((indicator, row))

    def days(self, measure: str, row: str) -> tuple[int | None, int | None]:
        """(median, p90) of a day measure; None where too few cases."""
        return self.figures.days.get((measure, row), (None, None))

    def rate(self, name: str, row: str) -> float | None:
        """A share, published only when both its counts are."""
        numerator, denominator = (self.value(k, row) for k in RATES[name])
        if numerator is None or not denominator:
            return None
        return numerator / denominator


def by_dimension(raw: RawFigures, dimension: str) -> Table:
    """Every nationality-level indicator by `dimension`, with a total row, suppressed."""
    counts: dict[tuple[str, str], int] = {}
    histograms: dict[tuple[str, str], Counter[int]] = {}
    for fine, count in raw.counts.items():
        if fine.indicator not in NATIONALITY_COUNTS:
            continue
        row = _label(raw, dimension, fine.period, fine.facility_id, fine.nationality)
        for key in ((fine.indicator, row), (fine.indicator, ALL)):
            counts[key] = counts.get(key, 0) + count
    for fine, histogram in raw.histograms.items():
        row = _label(raw, dimension, fine.period, fine.facility_id, fine.nationality)
        for key in ((fine.indicator, row), (fine.indicator, ALL)):
            histograms.setdefault(key, Counter()).update(histogram)
    rows = sorted({row for (_, row) in counts if row != ALL})
    return Table(dimension, rows, _publish(counts, histograms, rows, NATIONALITY_COUNTS))


def breakdown(raw: RawFigures, indicator: str) -> Table:
    """A per-consulate or per-language indicator by its value, with a total row, suppressed."""
    counts: dict[tuple[str, str], int] = {}
    for fine, count in raw.counts.items():
        if fine.indicator == indicator:
            for key in ((indicator, fine.dimension_value), (indicator, ALL)):
                counts[key] = counts.get(key, 0) + count
    rows = sorted({row for (_, row) in counts if row != ALL})
    return Table(BREAKDOWNS[indicator], rows, _publish(counts, {}, rows, (indicator,)))


def _in_row(row: str, indicator: str) -> tuple[str, str]:
    return (indicator, row)


def _publish(
    counts: dict[tuple[str, str], int],
    histograms: dict[tuple[str, str], Counter[int]],
    rows: list[str],
    indicators: Iterable[str],
) -> Published:
    indicators = list(indicators)
    relations = [Relation((name, ALL), tuple((name, row) for row in rows)) for name in indicators]
    unpublished: list[tuple[str, str]] = []
    for row in [*rows, ALL]:
        more, rest = cross_relations(counts, partial(_in_row, row))
        relations += more
        unpublished += rest
    hidden = suppress(counts, relations, unpublished=unpublished)
    published = Published(
        counts={k: v for k, v in counts.items() if k not in unpublished},
        hidden=set(hidden),
    )
    for measure in DAY_MEASURES:
        for row in [*rows, ALL]:
            published.days[(measure, row)] = day_measures(histograms.get((measure, row)))
    return published


@dataclass(frozen=True)
class DashboardTables:
    """Every table the dashboard shows, suppressed, for one query at one moment."""

    as_of: datetime
    by_period: Table
    by_nationality: Table
    by_facility: Table
    by_country: Table
    breakdowns: dict[str, Table]


def dashboard_tables(raw: RawFigures, as_of: datetime) -> DashboardTables:
    """Roll `raw` up into the dashboard's tables (pure CPU work: callers run it in a thread)."""
    return DashboardTables(
        as_of=as_of,
        by_period=by_dimension(raw, "period"),
        by_nationality=by_dimension(raw, "nationality"),
        by_facility=by_dimension(raw, "facility"),
        by_country=by_dimension(raw, "country"),
        breakdowns={name: breakdown(raw, name) for name in BREAKDOWNS},
    )
