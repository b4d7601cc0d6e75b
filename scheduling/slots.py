"""Slot search: pure functions over plain data, no database and no clock.

A slot needs, at the same time, the consulate open for interviews, one of its consuls
free, an interpreter who speaks one of the person's languages free (unless the consul
and the person share a language) and a video room at the facility free — before the
case's deadline. Everything is turned into UTC minute intervals once:

- the consulate's weekly windows (in its zone) minus closures, plus extra openings;
  windows held for priority cases count only for priority (unaccompanied minors') cases;
- per resource: its own availability minus its bookings, each booking widened on the
  left by the new interview's buffer (so the new interview's trailing buffer never runs
  into it; each stored booking already carries its own trailing buffer) and minus the
  local days on which an interpreter reached the daily maximum;
- per resource the set of start minutes whose interview fits, the union per kind, and
  the intersection across kinds. Candidates are taken from that set on a grid aligned to
  the consulate's local clock, earliest first, and each gets concrete resources.

When nothing fits, `problems` says which part is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from scheduling import intervals as iv
from scheduling import zones
from scheduling.intervals import Interval, Intervals


@dataclass(frozen=True)
class Weekly:
    """A weekly window in local time: weekday 0=Monday, minutes of the day [start, end)."""

    weekday: int
    start: int
    end: int
    priority_only: bool = False


@dataclass(frozen=True)
class DayException:
    """A local date (or part of it) closed, or open beyond the weekly windows."""

    day: date
    start: int | None = None
    end: int | None = None
    available: bool = False


@dataclass(frozen=True)
class Schedule:
    """Weekly windows and dated exceptions in one IANA zone."""

    zone: str
    weekly: tuple[Weekly, ...] = ()
    exceptions: tuple[DayException, ...] = ()
    # Schedules key the memoised parts of a search dozens of times per search; hashing
    # every window each time (Python-level dataclass hashes) cost more than the look-up.
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.zone, self.weekly, self.exceptions)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True)
class Resource:
    """A consul, interpreter or room with its bookings (busy UTC intervals incl. buffer).

    `schedule` None means the resource follows the consulate's hours (consuls).
    """

    id: int
    name: str
    schedule: Schedule | None = None
    busy: tuple[Interval, ...] = ()
    max_per_day: int | None = None
    language: str | None = None
    rank: int = 0  # lower is preferred (interpreters: native before fluent before working)


@dataclass(frozen=True)
class SearchRequest:
    """Everything slot search needs, in UTC minutes."""

    earliest: int  # now plus the consulate's notice period
    latest: int  # the interview must end by then (end of the deadline day)
    length: int
    buffer: int
    step: int
    consulate: Schedule
    consuls: Sequence[Resource]
    interpreters: Sequence[Resource] | None  # None: no interpreter needed
    rooms: Sequence[Resource]
    priority: bool = False
    languages: tuple[str, ...] = ()
    limit: int = 20
    per_day: int | None = None  # at most this many slots per consulate-local day


@dataclass(frozen=True)
class Slot:
    """A bookable time with the resources that would hold it."""

    start: int
    end: int
    consul_id: int
    interpreter_id: int | None
    room_id: int
    priority_hold: bool = False


@dataclass(frozen=True)
class Problem:
    """Why no (or no earlier) slot exists: a stable code and its parameters."""

    code: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class SearchResult:
    """Slots earliest first, and the problems found when there are none."""

    slots: list[Slot]
    problems: list[Problem]
    window: Interval


def availability(schedule: Schedule, low: int, high: int, *, priority: bool) -> Intervals:
    """A schedule's open UTC intervals within [low, high).

    Priority-only windows are open to priority cases and closed to all others even where
    they overlap an ordinary window; closures beat both; extra openings add time.
    """
    first = zones.local_ordinal(schedule.zone, low)
    last = zones.local_ordinal(schedule.zone, max(low, high - 1))
    return iv.clip(_open_days(schedule, first, last, priority), low, high)


@lru_cache(maxsize=8192)
def _open_days(schedule: Schedule, first: int, last: int, priority: bool) -> tuple[Interval, ...]:
    """`availability` over whole local days (ordinals): the same for every resource with
    equal hours and every search of the same days, so it is worked out once (a pure
    function of immutable values: memoising it changes no result)."""
    low = zones.ordinal_span(schedule.zone, first)[0]
    high = zones.ordinal_span(schedule.zone, last)[1]
    regular = zones.expand_weekly(
        schedule.zone,
        ((w.weekday, w.start, w.end) for w in schedule.weekly if not w.priority_only),
        low,
        high,
    )
    held = zones.expand_weekly(
        schedule.zone,
        ((w.weekday, w.start, w.end) for w in schedule.weekly if w.priority_only),
        low,
        high,
    )
    opened = iv.union(regular, held) if priority else iv.subtract(regular, held)
    extra = iv.normalize(
        zones.local_span(schedule.zone, e.day, e.start, e.end)
        for e in schedule.exceptions
        if e.available
    )
    closed = iv.normalize(
        zones.local_span(schedule.zone, e.day, e.start, e.end)
        for e in schedule.exceptions
        if not e.available
    )
    return tuple(iv.subtract(iv.union(opened, extra), closed))


def held_time(schedule: Schedule, low: int, high: int) -> Intervals:
    """The consulate's priority-only windows (to label slots taken from them)."""
    return zones.expand_weekly(
        schedule.zone,
        ((w.weekday, w.start, w.end) for w in schedule.weekly if w.priority_only),
        low,
        high,
    )


def _capped_days(busy: Sequence[Interval], zone_name: str, max_per_day: int | None) -> Intervals:
    """Local days on which a resource already has its maximum number of interviews."""
    if max_per_day is None or len(busy) < max_per_day:
        return []
    per_day: dict[int, int] = {}  # local day ordinal -> interviews
    for start, _end in busy:
        day = zones.local_ordinal(zone_name, start)
        per_day[day] = per_day.get(day, 0) + 1
    return iv.normalize(
        zones.ordinal_span(zone_name, day) for day, count in per_day.items() if count >= max_per_day
    )


@lru_cache(maxsize=4096)
def _fitting_days(
    open_hours: Schedule,
    busy: tuple[Interval, ...],
    capped_zone: str,
    max_per_day: int | None,
    first: int,
    last: int,
    *,
    buffer: int,
    length: int,
    priority: bool,
) -> tuple[Interval, ...]:
    """Start minutes at which a resource could hold a new interview, over whole local days
    of `open_hours` (ordinals `first` to `last`): its hours minus its bookings widened by
    `buffer` on the left, minus the days (in `capped_zone`) at its daily maximum.

    A pure function of immutable values, so it is remembered: every search of the same days
    sees the same bookings of a room, interpreter or consul until one changes, and then
    only that resource is worked out again. Clipped to a search's window it gives exactly
    what working it out over that window gives (subtracting, clipping and fitting commute).
    """
    open_time = _open_days(open_hours, first, last, priority)
    widened = iv.normalize((start - buffer, end) for start, end in busy)
    free = iv.subtract(open_time, widened)
    capped = _capped_days(busy, capped_zone, max_per_day)
    if capped:
        free = iv.subtract(free, capped)
    return tuple(iv.starts_fitting(free, length))


def free_starts(resource: Resource, request: SearchRequest, low: int, high: int) -> Intervals:
    """Start minutes in [low, high) at which `resource` could hold the request's interview
    (ending by `high`): its hours, or the consulate's for a resource without hours of its
    own (consuls), minus its bookings widened by the buffer on the left, minus the days at
    its daily maximum (UTC days for a resource without hours)."""
    return iv.clip(_fitting(resource, request, low, high), low, high - request.length + 1)


def _fitting(resource: Resource, request: SearchRequest, low: int, high: int) -> Sequence[Interval]:
    """`free_starts` over the whole local days that [low, high) touches (not clipped)."""
    if resource.schedule is None:
        open_hours, capped_zone = request.consulate, "UTC"
    else:
        open_hours = resource.schedule
        capped_zone = open_hours.zone
    return _fitting_days(
        open_hours,
        tuple(resource.busy),
        capped_zone,
        resource.max_per_day,
        *_local_days(open_hours.zone, low, high),
        buffer=request.buffer,
        length=request.length,
        priority=request.priority,
    )


@lru_cache(maxsize=1024)
def _local_days(zone_name: str, low: int, high: int) -> tuple[int, int]:
    """The ordinals of the first and last local days that [low, high) touches."""
    return zones.local_ordinal(zone_name, low), zones.local_ordinal(zone_name, max(low, high - 1))


def _starts(
    resources: Sequence[Resource], request: SearchRequest, low: int, high: int
) -> list[tuple[Resource, Sequence[Interval]]]:
    """The resources that can start the interview at some minute of [low, high), each with
    its start minutes over whole local days (the same as `free_starts` at any minute of the
    window: all a search asks them), best-ranked first (a stable sort: equal ranks keep the
    given order)."""
    stop = high - request.length + 1
    out = []
    for resource in resources:
        fitting = _fitting(resource, request, low, high)
        if iv.overlaps(fitting, low, stop):
            out.append((resource, fitting))
    out.sort(key=lambda option: option[0].rank)
    return out


@lru_cache(maxsize=1024)
def _union_days(sets: tuple[Sequence[Interval], ...]) -> tuple[Interval, ...]:
    """`iv.union` of resources' start minutes over whole days, remembered: the rooms of a
    facility, the consuls of a consulate and the speakers of a language are the same for
    many cases."""
    return tuple(iv.union(*sets))


def _pick(options: list[tuple[Resource, Sequence[Interval]]], start: int) -> Resource | None:
    """The best-ranked resource free at `start` (options come best-ranked first)."""
    for resource, fitting in options:
        if iv.contains(fitting, start):
            return resource
    return None


def search(request: SearchRequest) -> SearchResult:
    """Bookable slots, earliest first, or the reasons there are none."""
    low, high = request.earliest, request.latest
    window = (low, high)
    if high - low < request.length:
        code = "deadline_passed" if high <= low else "deadline_too_close"
        return SearchResult([], [Problem(code)], window)
    problems: list[Problem] = []
    consulate_time = availability(request.consulate, low, high, priority=request.priority)
    consulate_starts = iv.starts_fitting(consulate_time, request.length)
    if not consulate_starts:
        problems.append(Problem("consulate_closed"))
    consuls = _starts(request.consuls, request, low, high)
    if not request.consuls:
        problems.append(Problem("no_consul"))
    elif consulate_starts and not consuls:
        problems.append(Problem("consuls_busy"))
    interpreters: list[tuple[Resource, Sequence[Interval]]] = []
    if request.interpreters is not None:
        interpreters = _starts(request.interpreters, request, low, high)
        if not request.interpreters:
            problems.append(Problem("no_interpreter", {"languages": list(request.languages)}))
        elif not interpreters:
            problems.append(
                Problem("interpreters_unavailable", {"languages": list(request.languages)})
            )
    rooms = _starts(request.rooms, request, low, high)
    if not request.rooms:
        problems.append(Problem("no_room"))
    elif not rooms:
        problems.append(Problem("rooms_unavailable"))
    if problems:
        return SearchResult([], problems, window)

    stop = high - request.length + 1
    chosen = (
        [consuls, rooms, interpreters] if request.interpreters is not None else [consuls, rooms]
    )
    kinds = [consulate_starts]
    kinds.extend(
        iv.clip(_union_days(tuple(f for _, f in options)), low, stop) for options in chosen
    )
    common = iv.intersect_all(kinds)
    slots = _enumerate(common, request, consuls, interpreters, rooms, low, high)
    if not slots:
        return SearchResult([], [Problem("no_common_time")], window)
    return SearchResult(slots, [], window)


def _enumerate(
    common: Intervals,
    request: SearchRequest,
    consuls: list[tuple[Resource, Sequence[Interval]]],
    interpreters: list[tuple[Resource, Sequence[Interval]]],
    rooms: list[tuple[Resource, Sequence[Interval]]],
    low: int,
    high: int,
) -> list[Slot]:
    held = held_time(request.consulate, low, high) if request.priority else []
    zone_name = request.consulate.zone
    slots: list[Slot] = []
    per_day: dict[date, int] = {}
    for first, stop in common:
        candidate = first
        while candidate < stop and len(slots) < request.limit:
            # Align to the consulate's local clock: a 30-minute grid in Kathmandu (+05:45)
            # is :00 and :30 local, not UTC.
            misalignment = (candidate + zones.offset(zone_name, candidate)) % request.step
            if misalignment:
                candidate += request.step - misalignment
                continue
            day = zones.local_date(zone_name, candidate)
            if request.per_day is not None and per_day.get(day, 0) >= request.per_day:
                candidate = zones.day_span(zone_name, day)[1]
                continue
            consul = _pick(consuls, candidate)
            room = _pick(rooms, candidate)
            interpreter = (
                _pick(interpreters, candidate) if request.interpreters is not None else None
            )
            if consul is not None and room is not None:
                end = candidate + request.length
                slots.append(
                    Slot(
                        start=candidate,
                        end=end,
                        consul_id=consul.id,
                        interpreter_id=interpreter.id if interpreter else None,
                        room_id=room.id,
                        priority_hold=iv.overlaps(held, candidate, end),
                    )
                )
                per_day[day] = per_day.get(day, 0) + 1
            candidate += request.step
        if len(slots) >= request.limit:
            break
    return slots


def fits(request: SearchRequest, slot: Slot) -> list[Problem]:
    """Why a chosen slot with its resources cannot be booked (empty when it can).

    The same rules as `search`, for one slot; codes end in `_hours` (outside the
    resource's availability), `_busy` (overlaps a booking or its buffer; params name the
    clashing interval) or `_daily_limit`.
    """
    start, end = slot.start, slot.start + request.length
    if start < request.earliest:
        return [Problem("too_early")]
    if end > request.latest:
        return [Problem("after_deadline")]
    # Only the hours around the slot matter; a day either side covers any buffer.
    low, high = start - zones.MINUTES_PER_DAY, end + zones.MINUTES_PER_DAY
    consulate_time = availability(request.consulate, low, high, priority=request.priority)
    problems: list[Problem] = []
    if not iv.covers(consulate_time, start, end):
        problems.append(Problem("consulate_hours"))
    checks: list[tuple[str, Sequence[Resource], int | None]] = [
        ("consul", request.consuls, slot.consul_id),
        ("room", request.rooms, slot.room_id),
    ]
    if request.interpreters is not None:
        checks.append(("interpreter", request.interpreters, slot.interpreter_id))
    for kind, resources, wanted in checks:
        found = next((r for r in resources if r.id == wanted), None)
        if found is None:
            problems.append(Problem(f"{kind}_not_eligible", {"id": wanted}))
            continue
        problems.extend(_resource_problems(kind, found, request, start, end, low, high))
    return problems


def _resource_problems(
    kind: str, resource: Resource, request: SearchRequest, start: int, end: int, low: int, high: int
) -> list[Problem]:
    if resource.schedule is not None:
        open_time = availability(resource.schedule, low, high, priority=request.priority)
        if not iv.covers(open_time, start, end):
            return [Problem(f"{kind}_hours", {"id": resource.id})]
    clashes = [
        (b_start, b_end)
        for b_start, b_end in resource.busy
        if b_start - request.buffer < end and start < b_end
    ]
    if clashes:
        return [Problem(f"{kind}_busy", {"id": resource.id, "clashes": clashes})]
    if resource.max_per_day is not None:
        zone_name = resource.schedule.zone if resource.schedule else "UTC"
        day = zones.local_date(zone_name, start)
        count = sum(
            1 for b_start, _ in resource.busy if zones.local_date(zone_name, b_start) == day
        )
        if count >= resource.max_per_day:
            return [
                Problem(f"{kind}_daily_limit", {"id": resource.id, "limit": resource.max_per_day})
            ]
    return []
