"""The bookings slot search and booking checks read: every active interview of given people
and rooms in a time range, in one statement, with times as epoch minutes.

A search reads well over a thousand of them each time (5,000 bookings, 30 days), so the
query is built once and the database hands back integers: Python parses no timestamps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Text,
    bindparam,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from scheduling import zones
from scheduling.appointments import ACTIVE_VALUES, MAX_SPAN, Interview


class epoch_minutes(ColumnElement[int]):
    """Whole minutes since the epoch of a UTC timestamp column, computed by the database.

    Slot search reads thousands of booking times; letting the database hand back integers
    avoids parsing each timestamp in Python (the bulk of the load time on SQLite).
    """

    inherit_cache = True
    # The wrapped column is part of the statement's cache key, so compiled SQL is reused.
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012
    type = Integer()

    def __init__(self, column: QueryableAttribute[datetime]) -> None:
        self.column = column.expression


# unixepoch() (SQLite 3.38) parses a timestamp in about two thirds of strftime's time.
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38, 0)


@compiles(epoch_minutes, "sqlite")
def _epoch_sqlite(element: epoch_minutes, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    if _UNIXEPOCH:
        return f"(unixepoch({column}) / 60)"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / 60)"


@compiles(epoch_minutes)
def _epoch_default(element: epoch_minutes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(EXTRACT(EPOCH FROM {compiler.process(element.column, **kw)}) AS BIGINT) / 60)"


class Busy(NamedTuple):
    """An active booking as slot search sees it, times in epoch minutes (a tuple: thousands
    are made per search)."""

    interview_id: int
    consul_id: int
    interpreter_id: int | None
    room_id: int
    start: int
    until: int

    @property
    def starts_at(self) -> datetime:
        """The start as an aware UTC datetime."""
        return zones.from_minute(self.start)

    @property
    def busy_until(self) -> datetime:
        """The end of the buffer as an aware UTC datetime."""
        return zones.from_minute(self.until)


def _bookings_query(*, excluding: bool) -> CompoundSelect[Any]:
    # One indexed range scan per resource kind, glued with UNION ALL: an OR across the three
    # columns would make SQLite scan every active booking in the range instead. Built once
    # with bound parameters: composing it per call cost as much as running it.
    columns = (
        Interview.id,
        Interview.consul_id,
        Interview.interpreter_id,
        Interview.room_id,
        epoch_minutes(Interview.starts_at),
        epoch_minutes(Interview.busy_until),
    )
    parts = []
    for column, ids in (
        (Interview.consul_id, "consul_ids"),
        (Interview.interpreter_id, "interpreter_ids"),
        (Interview.room_id, "room_ids"),
    ):
        part = select(*columns).where(
            column.in_(bindparam(ids, expanding=True)),
            Interview.starts_at >= bindparam("first_start"),
            Interview.starts_at < bindparam("high"),
            Interview.busy_until > bindparam("low"),
            Interview.status.in_(ACTIVE_VALUES),
        )
        if excluding:
            part = part.where(Interview.id != bindparam("exclude"))
        parts.append(part)
    return union_all(*parts)


_BOOKINGS = _bookings_query(excluding=False)
_BOOKINGS_EXCEPT = _bookings_query(excluding=True)


def _range(
    low: datetime,
    high: datetime,
    consul_ids: list[int],
    interpreter_ids: list[int],
    room_ids: list[int],
    exclude: int | None,
) -> dict[str, Any]:
    """The parameters of the booking queries: which resources, which time, which interview
    to leave out (a reschedule's own)."""
    params: dict[str, Any] = {
        "consul_ids": consul_ids,
        "interpreter_ids": interpreter_ids,
        "room_ids": room_ids,
        "first_start": low - MAX_SPAN,
        "high": high,
        "low": low,
    }
    if exclude is not None:
        params["exclude"] = exclude
    return params


async def active_bookings(
    session: AsyncSession,
    *,
    low: datetime,
    high: datetime,
    consul_ids: list[int],
    interpreter_ids: list[int],
    room_ids: list[int],
    exclude: int | None = None,
) -> list[Busy]:
    """Requested or confirmed interviews of these people and rooms overlapping [low, high)."""
    if not (consul_ids or interpreter_ids or room_ids):
        return []
    params = _range(low, high, consul_ids, interpreter_ids, room_ids, exclude)
    query = _BOOKINGS if exclude is None else _BOOKINGS_EXCEPT
    seen: set[int] = set()
    found: list[Busy] = []
    for row in (await session.execute(query, params)).all():
        if row[0] not in seen:
            seen.add(row[0])
            found.append(Busy._make(row))
    return found


Held = dict[tuple[int, int], Sequence[tuple[int, int]]]
CONSUL, INTERPRETER, ROOM = 0, 1, 2  # the kinds `busy_times` keys its lists by


class minute_pairs(ColumnElement[str]):
    """An aggregate: "start until start until ..." of a group's bookings, in epoch minutes.

    A search reads over a thousand bookings; one text per resource instead of one row per
    booking spares the driver's thread and SQLAlchemy a thousand result rows, and Python
    turns the text back into numbers in a few C calls (`BusyPairs`).
    """

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012
        ("start", InternalTraversal.dp_clauseelement),
        ("until", InternalTraversal.dp_clauseelement),
    ]
    type = Text()

    def __init__(self, start: ColumnElement[int], until: ColumnElement[int]) -> None:
        self.start = start
        self.until = until


@compiles(minute_pairs, "sqlite")
def _pairs_sqlite(element: minute_pairs, compiler: SQLCompiler, **kw: Any) -> str:
    start, until = compiler.process(element.start, **kw), compiler.process(element.until, **kw)
    return f"group_concat({start} || ' ' || {until}, ' ')"


@compiles(minute_pairs)
def _pairs_default(element: minute_pairs, compiler: SQLCompiler, **kw: Any) -> str:
    start, until = compiler.process(element.start, **kw), compiler.process(element.until, **kw)
    return f"string_agg(CAST({start} AS TEXT) || ' ' || CAST({until} AS TEXT), ' ')"


def _held_query(*, excluding: bool) -> CompoundSelect[Any]:
    # As the bookings query, but per resource one text of its bookings' times: a booking
    # of several of the resources asked about counts once for each, as a search needs.
    parts = []
    for kind, column, ids in (
        (CONSUL, Interview.consul_id, "consul_ids"),
        (INTERPRETER, Interview.interpreter_id, "interpreter_ids"),
        (ROOM, Interview.room_id, "room_ids"),
    ):
        part = (
            select(
                literal_column(str(kind), Integer()),
                column,
                minute_pairs(
                    epoch_minutes(Interview.starts_at), epoch_minutes(Interview.busy_until)
                ),
            )
            .where(
                column.in_(bindparam(ids, expanding=True)),
                Interview.starts_at >= bindparam("first_start"),
                Interview.starts_at < bindparam("high"),
                Interview.busy_until > bindparam("low"),
                Interview.status.in_(ACTIVE_VALUES),
            )
            .group_by(column)
        )
        if excluding:
            part = part.where(Interview.id != bindparam("exclude"))
        parts.append(part)
    return union_all(*parts)


_HELD = _held_query(excluding=False)
_HELD_EXCEPT = _held_query(excluding=True)


Pairs = tuple[tuple[int, int], ...]


class BusyPairs:
    """Turns a resource's text of booking minutes into (start, busy until) pairs, and
    remembers the most recent texts.

    Reading the numbers back was a tenth of a search's CPU (a room has ~250 bookings in a
    month), yet the text only changes when that resource's bookings do. Keyed by the text
    itself, a remembered answer can never be stale: the bookings are still read every
    time, only their parsing is skipped. The same tuple for the same text also lets slot
    search find its remembered work for the resource at once (`slots._fitting_days`).
    """

    def __init__(self, size: int = 1024) -> None:
        self._known: dict[str, Pairs] = {}
        self._size = size

    def __call__(self, text: str) -> Pairs:
        """The pairs of one text."""
        found = self._known.get(text)
        if found is None:
            numbers = map(int, text.split())
            found = tuple(zip(numbers, numbers, strict=False))
            if len(self._known) >= self._size:  # forget the oldest
                del self._known[next(iter(self._known))]
            self._known[text] = found
        return found


async def busy_times(
    session: AsyncSession,
    *,
    low: datetime,
    high: datetime,
    consul_ids: list[int],
    interpreter_ids: list[int],
    room_ids: list[int],
    exclude: int | None = None,
    pairs: BusyPairs | None = None,
) -> Held:
    """Like `active_bookings`, as (start, busy until) minutes per (kind, resource id):
    what slot search needs, for a fraction of the work of a row per booking (`pairs`:
    the parser that remembers recent texts, such as the search cache's)."""
    if not (consul_ids or interpreter_ids or room_ids):
        return {}
    params = _range(low, high, consul_ids, interpreter_ids, room_ids, exclude)
    query = _HELD if exclude is None else _HELD_EXCEPT
    rows = (await session.execute(query, params)).all()
    parse = pairs or BusyPairs()
    return {(kind, ident): parse(text) for kind, ident, text in rows if text}
