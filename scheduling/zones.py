"""Local wall-clock time ⇄ UTC minutes, per IANA zone, fast and right across DST changes.

Availability is written in local time ("Mondays 09:00-13:00 in America/New_York") and
searched in UTC minutes. Converting every window with `datetime` would dominate slot
search, so each (zone, local day) is converted once and cached: the UTC minute of its
local midnight, and whether the offset changes during that day. On ordinary days a local
time is then plain arithmetic; on a transition day it goes through zoneinfo, which applies
PEP 495: a wall time skipped by a spring-forward gap maps as if the old offset still held
(02:30 becomes 03:30 daylight time), and a repeated wall time takes its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from scheduling.intervals import Intervals, normalize

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTES_PER_DAY = 1440


def to_minute(moment: datetime) -> int:
    """Whole minutes since the epoch for an aware datetime (seconds are dropped)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give an aware time")
    return int((moment - EPOCH).total_seconds() // 60)


def from_minute(minute: int) -> datetime:
    """The aware UTC datetime of an epoch minute."""
    return EPOCH + timedelta(minutes=minute)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo."""
    return ZoneInfo(name)


def _exact(zone_name: str, day: date, minute_of_day: int) -> int:
    extra_days, minute_of_day = divmod(minute_of_day, MINUTES_PER_DAY)
    local = datetime.combine(
        day + timedelta(days=extra_days),
        time(minute_of_day // 60, minute_of_day % 60),
        tzinfo=zone(zone_name),
    )
    return to_minute(local)


@lru_cache(maxsize=65536)
def _day(zone_name: str, ordinal: int) -> tuple[int, bool]:
    """(UTC minute of local midnight, whether the UTC offset changes during that day)."""
    day = date.fromordinal(ordinal)
    midnight = _exact(zone_name, day, 0)
    next_midnight = _exact(zone_name, day + timedelta(days=1), 0)
    return midnight, next_midnight - midnight != MINUTES_PER_DAY


def local_to_utc(zone_name: str, day: date, minute_of_day: int) -> int:
    """UTC minute of the wall time `minute_of_day` (0..1440) on local `day`."""
    if minute_of_day == MINUTES_PER_DAY:
        return _day(zone_name, day.toordinal() + 1)[0]
    midnight, shifts = _day(zone_name, day.toordinal())
    if not shifts:
        return midnight + minute_of_day
    return _exact(zone_name, day, minute_of_day)


def day_span(zone_name: str, day: date) -> tuple[int, int]:
    """The local day as a UTC interval [midnight, next midnight) (23 or 25 h on DST days)."""
    return ordinal_span(zone_name, day.toordinal())


def ordinal_span(zone_name: str, ordinal: int) -> tuple[int, int]:
    """`day_span` of the local day with this ordinal."""
    return _day(zone_name, ordinal)[0], _day(zone_name, ordinal + 1)[0]


def local_date(zone_name: str, minute: int) -> date:
    """The local calendar date at a UTC minute."""
    return date.fromordinal(local_ordinal(zone_name, minute))


def local_ordinal(zone_name: str, minute: int) -> int:
    """`local_date` as a proleptic Gregorian ordinal (no date object: for counting)."""
    return _EPOCH_ORDINAL + (minute + offset(zone_name, minute)) // MINUTES_PER_DAY


def offset(zone_name: str, minute: int) -> int:
    """The zone's UTC offset in minutes at a UTC minute (local = UTC + offset)."""
    return _quarter_offset(zone_name, minute // 15)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=262144)
def _quarter_offset(zone_name: str, quarter: int) -> int:
    # Offsets in use today are whole quarter hours and change on a quarter hour (DST moves
    # at 02:00 or similar), so one lookup serves a whole UTC quarter hour.
    local = from_minute(quarter * 15).astimezone(zone(zone_name))
    delta = local.utcoffset()
    return int(delta.total_seconds() // 60) if delta is not None else 0


def local_dates(zone_name: str, low: int, high: int) -> list[date]:
    """Every local date that overlaps the UTC interval [low, high)."""
    first = local_date(zone_name, low)
    last = local_date(zone_name, max(low, high - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def expand_weekly(
    zone_name: str,
    windows: Iterable[tuple[int, int, int]],
    low: int,
    high: int,
) -> Intervals:
    """UTC intervals of weekly local windows (weekday 0=Monday, start and end minute of day)
    on every local date overlapping [low, high); not clipped to it."""
    by_weekday: dict[int, list[tuple[int, int]]] = {}
    for weekday, start, end in windows:
        by_weekday.setdefault(weekday, []).append((start, end))
    if not by_weekday:
        return []
    out: Intervals = []
    for day in local_dates(zone_name, low, high):
        for start, end in by_weekday.get(day.weekday(), ()):
            out.append((local_to_utc(zone_name, day, start), local_to_utc(zone_name, day, end)))
    return normalize(out)


def local_span(zone_name: str, day: date, start: int | None, end: int | None) -> tuple[int, int]:
    """A local day, or a part of it given in minutes of the day, as a UTC interval."""
    if start is None or end is None:
        return day_span(zone_name, day)
    return local_to_utc(zone_name, day, start), local_to_utc(zone_name, day, end)


def format_local(minute: int, zone_name: str) -> datetime:
    """The aware local datetime of a UTC minute in a zone."""
    return from_minute(minute).astimezone(zone(zone_name))
