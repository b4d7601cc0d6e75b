"""From raw figures to publishable tables: roll-ups, the relations between figures, suppression.

Both the dashboard (a table per dimension, each with a total row, all suppressed
together) and the exchange export (facility × nationality per month and country, with
margins) go through here, so every figure that leaves the database has passed
`suppression.suppress`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
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


@dataclass
class _Rollup:
    """One dashboard table before suppression: counts by (indicator, row), row ALL the total."""

    dimension: str
    indicators: tuple[str, ...]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    histograms: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)

    def add(self, indicator: str, row: str, count: int) -> None:
        for key in ((indicator, row), (indicator, ALL)):
            self.counts[key] = self.counts.get(key, 0) + count

    @property
    def rows(self) -> list[str]:
        return sorted({row for (_, row) in self.counts if row != ALL})


def _by_dimension(raw: RawFigures, dimension: str) -> _Rollup:
    rollup = _Rollup(dimension, NATIONALITY_COUNTS)
    for fine, count in raw.counts.items():
        if fine.indicator in NATIONALITY_COUNTS:
            label = _label(raw, dimension, fine.period, fine.facility_id, fine.nationality)
            rollup.add(fine.indicator, label, count)
    for fine, histogram in raw.histograms.items():
        row = _label(raw, dimension, fine.period, fine.facility_id, fine.nationality)
        for key in ((fine.indicator, row), (fine.indicator, ALL)):
            rollup.histograms.setdefault(key, Counter()).update(histogram)
    return rollup


def _breakdown(raw: RawFigures, indicator: str) -> _Rollup:
    rollup = _Rollup(BREAKDOWNS[indicator], (indicator,))
    for fine, count in raw.counts.items():
        if fine.indicator == indicator:
            rollup.add(indicator, fine.dimension_value, count)
    return rollup


# The total of a breakdown that is the total of a nationality indicator: one figure.
SHARED_TOTALS = {"interviews_held_by_consulate": "interviews_held"}


def _publish_together(raw: RawFigures, rollups: dict[str, _Rollup]) -> dict[str, Table]:
    """Suppress linked tables as one: a figure hidden in one is hidden wherever it shows.

    The tables share their totals (every month, every nationality, every facility: the
    same figure), held interviews per consulate add up to held interviews, and the
    facilities of a country add up to it; a figure that is safe in its own table could
    otherwise be worked out from another (16 cases − Mexico's 7 − the one Guatemalan
    facility's 6 = Costa Rica's hidden 3).
    """

    def joint(name: str, indicator: str, row: str) -> Hashable:
        if row == ALL:
            return (SHARED_TOTALS.get(indicator, indicator), ALL)
        return (name, indicator, row)

    counts: dict[Hashable, int] = {}
    relations: list[Relation[Hashable]] = []
    for name, rollup in rollups.items():
        for (indicator, row), count in rollup.counts.items():
            counts.setdefault(joint(name, indicator, row), count)
        rows = rollup.rows
        for indicator in rollup.indicators:
            parts = tuple(joint(name, indicator, row) for row in rows)
            relations.append(Relation(joint(name, indicator, ALL), parts))
    if "country" in rollups and "facility" in rollups:
        in_country: dict[str, list[str]] = {}
        for country, facility in raw.facilities.values():
            in_country.setdefault(country, []).append(facility)
        facilities = set(rollups["facility"].rows)
        for country in rollups["country"].rows:
            members = [f for f in in_country.get(country, []) if f in facilities]
            for indicator in NATIONALITY_COUNTS:
                parts = tuple(joint("facility", indicator, f) for f in members)
                relations.append(Relation(joint("country", indicator, country), parts))
    unpublished: list[Hashable] = []
    if "interviews_held_by_language" in rollups:
        # Held interviews = those with an interpreter (the language table's total) + those
        # without (never published).
        held, with_language = ("interviews_held", ALL), ("interviews_held_by_language", ALL)
        without = ("_held_without_interpreter", ALL)
        counts[without] = counts.get(held, 0) - counts.get(with_language, 0)
        relations.append(Relation(held, (with_language, without)))
        unpublished.append(without)
    cells = [(name, row) for name in DIMENSIONS if name in rollups for row in rollups[name].rows]
    for name, row in [*cells, ("", ALL)]:
        more, rest = cross_relations(counts, partial(joint, name, row=row))
        relations += more
        unpublished += rest
    hidden = suppress(counts, relations, unpublished=unpublished)
    tables = {}
    for name, rollup in rollups.items():
        rows = rollup.rows
        published = Published()
        for indicator, row in rollup.counts:
            key = joint(name, indicator, row)
            published.counts[(indicator, row)] = counts[key]
            if key in hidden:
                published.hidden.add((indicator, row))
        for measure in DAY_MEASURES:
            for row in [*rows, ALL]:
                histogram = rollup.histograms.get((measure, row))
                published.days[(measure, row)] = day_measures(histogram)
        tables[name] = Table(rollup.dimension, rows, published)
    return tables


@dataclass(frozen=True)
class DashboardTables:
    """Every table the dashboard shows, suppressed together, for one query at one moment."""

    as_of: datetime
    by_period: Table
    by_nationality: Table
    by_facility: Table
    by_country: Table
    breakdowns: dict[str, Table]


def dashboard_tables(raw: RawFigures, as_of: datetime) -> DashboardTables:
    """Roll `raw` up into the dashboard's tables (pure CPU work: callers run it in a thread)."""
    rollups = {dimension: _by_dimension(raw, dimension) for dimension in DIMENSIONS}
    rollups |= {name: _breakdown(raw, name) for name in BREAKDOWNS}
    tables = _publish_together(raw, rollups)
    return DashboardTables(
        as_of=as_of,
        by_period=tables["period"],
        by_nationality=tables["nationality"],
        by_facility=tables["facility"],
        by_country=tables["country"],
        breakdowns={name: tables[name] for name in BREAKDOWNS},
    )
