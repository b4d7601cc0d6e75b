"""Slot search as pure functions: interval algebra, local time across DST, and the search rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling import intervals as iv
from scheduling import zones
from scheduling.slots import (
    DayException,
    Resource,
    Schedule,
    SearchRequest,
    Slot,
    Weekly,
    availability,
    fits,
    free_starts,
    search,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def minute(text: str) -> int:
    """An ISO UTC time as an epoch minute."""
    return zones.to_minute(datetime.fromisoformat(text).replace(tzinfo=UTC))


def iso(value: int, zone_name: str = "UTC") -> str:
    return zones.format_local(value, zone_name).strftime("%Y-%m-%d %H:%M")


def hours(start: str, end: str) -> tuple[int, int]:
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return h1 * 60 + m1, h2 * 60 + m2


def weekdays(start: str, end: str, days: range = range(5), **kw: bool) -> tuple[Weekly, ...]:
    low, high = hours(start, end)
    return tuple(Weekly(day, low, high, **kw) for day in days)


# -- interval algebra, checked against plain sets of minutes ---------------------------

interval_lists = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 40)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=8,
)


def points(a: list[tuple[int, int]]) -> set[int]:
    return {m for start, end in a for m in range(start, end)}


@settings(max_examples=300, deadline=None)
@given(interval_lists, interval_lists)
def test_interval_operations_agree_with_sets_of_minutes(
    a: list[tuple[int, int]], b: list[tuple[int, int]]
) -> None:
    na, nb = iv.normalize(a), iv.normalize(b)
    assert points(na) == points(a)
    assert all(x[1] < y[0] for x, y in pairwise(na)), "merged and sorted"
    assert points(iv.intersect(na, nb)) == points(a) & points(b)
    assert points(iv.subtract(na, nb)) == points(a) - points(b)
    assert points(iv.union(na, nb)) == points(a) | points(b)
    for probe in range(0, 245, 7):
        assert iv.contains(na, probe) == (probe in points(a))
        assert iv.overlaps(na, probe, probe + 5) == bool(points(a) & set(range(probe, probe + 5)))
        assert iv.covers(na, probe, probe + 5) == (set(range(probe, probe + 5)) <= points(a))
    starts = iv.starts_fitting(na, 10)
    for probe in range(0, 245, 3):
        fits_here = any(s <= probe and probe + 10 <= e for s, e in na)
        assert iv.contains(starts, probe) == fits_here
    for low, high in ((-5, 300), (0, 0), (13, 97), (40, 41), (150, 120)):
        clipped = iv.clip(na, low, high)
        assert points(clipped) == points(a) & set(range(low, high))
        assert clipped == iv.normalize(clipped)


# -- local time ------------------------------------------------------------------------


def test_new_york_windows_follow_the_clock_across_the_spring_dst_change() -> None:
    # 2026-03-08: New York moves from EST (-5) to EDT (-4); 09:00 local stays 09:00 local.
    low, high = minute("2026-03-06T00:00"), minute("2026-03-11T00:00")
    got = zones.expand_weekly("America/New_York", [(FRI, 540, 600), (MON, 540, 600)], low, high)
    assert [(iso(s), iso(e)) for s, e in got] == [
        ("2026-03-06 14:00", "2026-03-06 15:00"),
        ("2026-03-09 13:00", "2026-03-09 14:00"),
    ]


def test_a_window_across_the_skipped_hour_is_an_hour_shorter() -> None:
    low, high = minute("2026-03-08T00:00"), minute("2026-03-09T00:00")
    (window,) = zones.expand_weekly("America/New_York", [(SUN, 60, 240)], low, high)
    assert window[1] - window[0] == 120  # 01:00 EST to 04:00 EDT is two real hours
    assert (
        zones.day_span("America/New_York", date(2026, 3, 8))[1]
        - zones.day_span("America/New_York", date(2026, 3, 8))[0]
        == 23 * 60
    )


def test_autumn_day_has_25_hours_and_windows_keep_local_time() -> None:
    span = zones.day_span("America/New_York", date(2026, 11, 1))
    assert span[1] - span[0] == 25 * 60
    low, high = minute("2026-10-30T00:00"), minute("2026-11-03T00:00")
    got = zones.expand_weekly("America/New_York", [(FRI, 540, 600), (MON, 540, 600)], low, high)
    assert [iso(s, "America/New_York") for s, _ in got] == ["2026-10-30 09:00", "2026-11-02 09:00"]
    assert [iso(s) for s, _ in got] == ["2026-10-30 13:00", "2026-11-02 14:00"]


def test_mexico_city_has_no_dst_since_2022_and_kathmandu_is_plus_0545() -> None:
    low, high = minute("2026-03-01T00:00"), minute("2026-04-30T00:00")
    got = zones.expand_weekly("America/Mexico_City", [(MON, 540, 600)], low, high)
    assert {iso(s)[11:] for s, _ in got} == {"15:00"}
    (kathmandu,) = zones.expand_weekly(
        "Asia/Kathmandu", [(MON, 600, 660)], minute("2026-03-09T00:00"), minute("2026-03-10T00:00")
    )
    assert iso(kathmandu[0]) == "2026-03-09 04:15"


# -- the search ------------------------------------------------------------------------

INDIA = Schedule("America/New_York", weekdays("09:00", "13:00"))
ROOMS = [Resource(1, "Sala 1", Schedule("America/Mexico_City", weekdays("07:00", "18:00")))]


def interpreter(ident: int, zone_name: str = "America/Mexico_City", **kw: object) -> Resource:
    return Resource(
        ident, f"Interpreter {ident}", Schedule(zone_name, weekdays("08:00", "17:00")), **kw
    )  # type: ignore[arg-type]


def request(**changes: object) -> SearchRequest:
    base: dict[str, object] = {
        "earliest": minute("2026-03-02T00:00"),  # a Monday
        "latest": minute("2026-03-14T00:00"),
        "length": 60,
        "buffer": 15,
        "step": 30,
        "consulate": INDIA,
        "consuls": [Resource(10, "Consul")],
        "interpreters": [interpreter(20)],
        "rooms": ROOMS,
        "languages": ("hin",),
    }
    base.update(changes)
    return SearchRequest(**base)  # type: ignore[arg-type]


def test_earliest_slot_is_where_consulate_interpreter_and_room_all_overlap() -> None:
    result = search(request())
    first = result.slots[0]
    # India opens 09:00 New York = 14:00 UTC; Mexico City interpreter from 08:00 = 14:00 UTC.
    assert iso(first.start) == "2026-03-02 14:00"
    assert (first.consul_id, first.interpreter_id, first.room_id) == (10, 20, 1)
    assert [s.start for s in result.slots] == sorted(s.start for s in result.slots)
    assert all(s.end - s.start == 60 for s in result.slots)


def test_bookings_and_their_buffers_push_the_next_slot_back() -> None:
    # The consul is busy 14:00-15:00 plus a 15-minute buffer.
    busy = ((minute("2026-03-02T14:00"), minute("2026-03-02T15:15")),)
    result = search(request(consuls=[Resource(10, "Consul", busy=busy)]))
    assert iso(result.slots[0].start) == "2026-03-02 15:30"
    # Another booking from 16:00: 15:30 + 60 min + 15 min buffer would run into it.
    later = (
        (minute("2026-03-02T14:00"), minute("2026-03-02T15:15")),
        (minute("2026-03-02T16:00"), minute("2026-03-02T16:45")),
    )
    result = search(request(consuls=[Resource(10, "Consul", busy=later)]))
    assert iso(result.slots[0].start) == "2026-03-02 17:00"


def test_a_second_consul_takes_the_slot_the_first_cannot() -> None:
    busy = ((minute("2026-03-02T14:00"), minute("2026-03-02T15:15")),)
    result = search(request(consuls=[Resource(10, "A", busy=busy), Resource(11, "B")]))
    assert iso(result.slots[0].start) == "2026-03-02 14:00" and result.slots[0].consul_id == 11


def test_interpreter_daily_maximum_closes_their_day() -> None:
    busy = ((minute("2026-03-02T20:00"), minute("2026-03-02T21:15")),)
    capped = interpreter(20, busy=busy, max_per_day=1)
    result = search(request(interpreters=[capped]))
    assert iso(result.slots[0].start) == "2026-03-03 14:00"


def test_no_interpreter_needed_when_the_consul_shares_the_language() -> None:
    result = search(request(interpreters=None))
    assert result.slots[0].interpreter_id is None


def test_native_speaker_is_preferred_over_a_working_knowledge() -> None:
    result = search(request(interpreters=[interpreter(21, rank=2), interpreter(22, rank=0)]))
    assert result.slots[0].interpreter_id == 22


def test_holiday_and_closure_remove_consulate_days() -> None:
    closed = Schedule(
        INDIA.zone,
        INDIA.weekly,
        (DayException(date(2026, 3, 2)), DayException(date(2026, 3, 3), 540, 720)),
    )
    result = search(request(consulate=closed))
    assert iso(result.slots[0].start) == "2026-03-03 17:00"  # 12:00 New York, after the closure


def test_priority_holds_are_only_for_priority_cases() -> None:
    held = Schedule(INDIA.zone, INDIA.weekly + weekdays("09:00", "10:00", priority_only=True))
    ordinary = search(request(consulate=held))
    assert iso(ordinary.slots[0].start) == "2026-03-02 15:00"
    priority = search(request(consulate=held, priority=True))
    assert iso(priority.slots[0].start) == "2026-03-02 14:00" and priority.slots[0].priority_hold


def test_slots_align_to_the_consulates_local_clock_in_kathmandu() -> None:
    nepal = Schedule("Asia/Kathmandu", weekdays("00:00", "24:00", range(7)))
    always = Schedule("UTC", weekdays("00:00", "24:00", range(7)))
    result = search(
        request(
            consulate=nepal,
            step=60,
            interpreters=None,
            rooms=[Resource(1, "Sala", always)],
            earliest=minute("2026-03-02T00:00"),
        )
    )
    assert iso(result.slots[0].start, "Asia/Kathmandu").endswith(":00")
    assert iso(result.slots[0].start).endswith(":15")


def test_per_day_limit_spreads_slots_over_days() -> None:
    result = search(request(per_day=2, limit=6))
    days = [iso(s.start)[:10] for s in result.slots]
    assert days == [
        "2026-03-02",
        "2026-03-02",
        "2026-03-03",
        "2026-03-03",
        "2026-03-04",
        "2026-03-04",
    ]


def test_no_slot_says_what_is_missing() -> None:
    nothing = search(request(interpreters=[]))
    assert [p.code for p in nothing.problems] == ["no_interpreter"]
    assert nothing.problems[0].params == {"languages": ["hin"]}
    weekend_only = Schedule(INDIA.zone, weekdays("09:00", "13:00", range(5, 7)))
    closed = search(request(consulate=weekend_only, latest=minute("2026-03-07T00:00")))
    assert [p.code for p in closed.problems] == ["consulate_closed"]
    late = Resource(20, "Night", Schedule("America/Mexico_City", weekdays("20:00", "23:00")))
    apart = search(request(interpreters=[late]))
    assert [p.code for p in apart.problems] == ["no_common_time"]
    assert [p.code for p in search(request(rooms=[])).problems] == ["no_room"]
    passed = search(request(latest=minute("2026-03-01T00:00")))
    assert [p.code for p in passed.problems] == ["deadline_passed"]


def test_fits_names_each_reason_a_chosen_slot_cannot_be_booked() -> None:
    good = Slot(minute("2026-03-02T14:00"), minute("2026-03-02T15:00"), 10, 20, 1)
    assert fits(request(), good) == []
    night = Slot(minute("2026-03-02T03:00"), minute("2026-03-02T04:00"), 10, 20, 1)
    assert {p.code for p in fits(request(), night)} >= {"consulate_hours", "interpreter_hours"}
    busy = ((minute("2026-03-02T15:00"), minute("2026-03-02T16:15")),)
    tight = request(rooms=[Resource(1, "Sala 1", ROOMS[0].schedule, busy=busy)])
    (clash,) = fits(tight, good)
    assert clash.code == "room_busy" and clash.params["clashes"] == list(busy)
    assert [p.code for p in fits(request(), Slot(good.start, good.end, 10, 99, 1))] == [
        "interpreter_not_eligible"
    ]
    assert [p.code for p in fits(request(latest=good.start + 30), good)] == ["after_deadline"]
    assert [p.code for p in fits(request(earliest=good.start + 1), good)] == ["too_early"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        ["America/New_York", "America/Mexico_City", "Asia/Kathmandu", "Asia/Kolkata", "UTC"]
    ),
    st.integers(
        zones.to_minute(datetime(2024, 1, 1, tzinfo=UTC)),
        zones.to_minute(datetime(2030, 1, 1, tzinfo=UTC)),
    ),
)
def test_cached_offsets_and_local_dates_agree_with_zoneinfo(zone_name: str, minute: int) -> None:
    local = zones.from_minute(minute).astimezone(zones.zone(zone_name))
    offset = local.utcoffset()
    assert offset is not None
    assert zones.offset(zone_name, minute) == offset.total_seconds() // 60
    assert zones.local_date(zone_name, minute) == local.date()


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["America/New_York", "Asia/Kathmandu", "UTC"]),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1380), st.integers(30, 600)), max_size=6),
    st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=3),
    st.integers(0, 40 * 1440),
    st.integers(0, 20 * 1440),
    st.booleans(),
)
def test_availability_is_the_schedule_expanded_over_the_window_and_clipped_to_it(
    zone_name: str,
    windows: list[tuple[int, int, int]],
    closures: list[tuple[int, bool]],
    offset: int,
    span: int,
    priority: bool,
) -> None:
    """Worked out per whole local days (and remembered): the same as expanding the hours
    over exactly the window, as slot search did before."""
    weekly = tuple(
        Weekly(day, start, min(start + length, 1440), priority_only=index % 3 == 2)
        for index, (day, start, length) in enumerate(windows)
    )
    first = date(2026, 3, 1)
    exceptions = tuple(
        DayException(date.fromordinal(first.toordinal() + day), 600, 720, available)
        for day, available in closures
    )
    schedule = Schedule(zone_name, weekly, exceptions)
    low = zones.to_minute(datetime(2026, 3, 1, tzinfo=UTC)) + offset
    high = low + span
    regular = zones.expand_weekly(
        zone_name, ((w.weekday, w.start, w.end) for w in weekly if not w.priority_only), low, high
    )
    held = zones.expand_weekly(
        zone_name, ((w.weekday, w.start, w.end) for w in weekly if w.priority_only), low, high
    )
    opened = iv.union(regular, held) if priority else iv.subtract(regular, held)
    spans = {
        kind: iv.normalize(
            zones.local_span(zone_name, e.day, e.start, e.end)
            for e in exceptions
            if e.available is kind
        )
        for kind in (True, False)
    }
    expected = iv.clip(iv.subtract(iv.union(opened, spans[True]), spans[False]), low, high)
    assert availability(schedule, low, high, priority=priority) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["America/New_York", "Asia/Kathmandu", "America/Mexico_City", "UTC"]),
    st.booleans(),  # hours of its own, or the consulate's (a consul)
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1380), st.integers(30, 600)), max_size=5),
    st.lists(st.tuples(st.integers(0, 4 * 96), st.integers(1, 12)), max_size=8),
    st.sampled_from([None, 1, 2, 3]),
    st.integers(0, 30),
    st.sampled_from([30, 60, 90]),
    st.lists(st.tuples(st.integers(0, 3 * 1440), st.integers(0, 5 * 1440)), min_size=1, max_size=3),
    st.booleans(),
)
def test_a_resources_free_starts_are_its_hours_minus_bookings_and_full_days_in_any_window(
    zone_name: str,
    own_hours: bool,
    windows: list[tuple[int, int, int]],
    bookings: list[tuple[int, int]],
    max_per_day: int | None,
    buffer: int,
    length: int,
    spans: list[tuple[int, int]],
    priority: bool,
) -> None:
    """Worked out per whole local days (and remembered across searches, so several windows
    ask about the same resource here): the same as working it out over exactly the window,
    as slot search did before. Bookings are on quarter hours over four days from Saturday
    7 March 2026, across New York's spring DST change; hours are 06:00-20:00 every day and
    any further windows drawn."""
    base = zones.to_minute(datetime(2026, 3, 7, tzinfo=UTC))
    hours = Schedule(
        zone_name,
        weekdays("06:00", "20:00", range(7))
        + tuple(
            Weekly(day, start, min(start + size, 1440), priority_only=index % 4 == 3)
            for index, (day, start, size) in enumerate(windows)
        ),
    )
    busy = tuple((base + start * 15, base + (start + size) * 15) for start, size in bookings)
    resource = Resource(7, "R", hours if own_hours else None, busy=busy, max_per_day=max_per_day)
    consulate = hours if not own_hours else INDIA
    for offset, span in spans:
        low, high = base + offset, base + offset + span
        ask = request(consulate=consulate, buffer=buffer, length=length, priority=priority)
        open_time = availability(hours, low, high, priority=priority)
        free = iv.subtract(open_time, iv.normalize((s - buffer, e) for s, e in busy))
        capped_zone = zone_name if own_hours else "UTC"
        per_day: dict[int, int] = {}
        for start, _end in busy:
            day = zones.local_ordinal(capped_zone, start)
            per_day[day] = per_day.get(day, 0) + 1
        full = iv.normalize(
            zones.ordinal_span(capped_zone, day)
            for day, count in per_day.items()
            if max_per_day is not None and count >= max_per_day
        )
        expected = iv.starts_fitting(iv.subtract(free, full), length)
        assert free_starts(resource, ask, low, high) == expected
