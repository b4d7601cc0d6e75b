"""Retention periods: how long each kind of record is kept, by the case's category.

Kinds: session recordings and transcripts (counted from the interview's end), case
documents and session summaries (counted from the day the case was closed). Categories come
from the case's protective flags: an unaccompanied minor, another minor, or an adult.
A period of `None` keeps that kind for that category until someone deletes it by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from interviews.cases import Case


class RetainedKind(StrEnum):
    """What retention deletes."""

    RECORDINGS = "recordings"
    TRANSCRIPTS = "transcripts"
    DOCUMENTS = "documents"
    SUMMARIES = "summaries"


class CaseCategory(StrEnum):
    """The case categories periods differ by (the queue's priority classes)."""

    ADULT = "adult"
    MINOR = "minor"
    UNACCOMPANIED_MINOR = "unaccompanied_minor"


# Kinds counted from the interview's end; the others from the case's closing.
FROM_INTERVIEW_END = frozenset({RetainedKind.RECORDINGS, RetainedKind.TRANSCRIPTS})

# Days. Minors' records are kept longer: a child may need proof of how their identity was
# established when they come of age or are reunited with family. Operators set these to
# what their law requires (docs/operators.md).
DEFAULT_DAYS: dict[RetainedKind, dict[CaseCategory, int | None]] = {
    RetainedKind.RECORDINGS: {
        CaseCategory.ADULT: 90,
        CaseCategory.MINOR: 365,
        CaseCategory.UNACCOMPANIED_MINOR: 365,
    },
    RetainedKind.TRANSCRIPTS: {
        CaseCategory.ADULT: 365,
        CaseCategory.MINOR: 730,
        CaseCategory.UNACCOMPANIED_MINOR: 730,
    },
    RetainedKind.DOCUMENTS: {
        CaseCategory.ADULT: 365,
        CaseCategory.MINOR: 1825,
        CaseCategory.UNACCOMPANIED_MINOR: 1825,
    },
    RetainedKind.SUMMARIES: {
        CaseCategory.ADULT: 1825,
        CaseCategory.MINOR: 3650,
        CaseCategory.UNACCOMPANIED_MINOR: 3650,
    },
}
MAX_DAYS = 36_500


def case_category(case: Case) -> CaseCategory:
    """The category a case's flags put it in."""
    if case.unaccompanied_minor:
        return CaseCategory.UNACCOMPANIED_MINOR
    if case.minor:
        return CaseCategory.MINOR
    return CaseCategory.ADULT


def parse_periods(
    kind: RetainedKind, given: Mapping[str, int | None]
) -> dict[CaseCategory, int | None]:
    """The kind's days per category: the defaults overridden by `given`.

    Raises ValueError naming the bad category or value (settings validation shows it at start).
    """
    periods = dict(DEFAULT_DAYS[kind])
    for name, days in given.items():
        try:
            category = CaseCategory(name)
        except ValueError:
            known = ", ".join(c.value for c in CaseCategory)
            raise ValueError(f"unknown case category {name!r} (known: {known})") from None
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS
        ):
            raise ValueError(
                f"{name}: {days!r} is not a number of days from 1 to {MAX_DAYS} (or null: keep)"
            )
        periods[category] = days
    return periods


@dataclass(frozen=True)
class RetentionPolicy:
    """Every kind's period per category."""

    days: Mapping[RetainedKind, Mapping[CaseCategory, int | None]]

    @classmethod
    def from_settings(
        cls, given: Mapping[RetainedKind, Mapping[str, int | None]]
    ) -> RetentionPolicy:
        """The policy from the settings' per-kind maps (missing categories keep defaults)."""
        return cls({kind: parse_periods(kind, given.get(kind, {})) for kind in RetainedKind})

    def period(self, kind: RetainedKind, category: CaseCategory) -> timedelta | None:
        """How long `kind` is kept for `category`; None to keep it."""
        days = self.days[kind][category]
        return None if days is None else timedelta(days=days)
